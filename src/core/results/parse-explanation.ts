/**
 * Pulls the explanation out of a model's answer. Models asked for `{"explanation": "..."}` answer
 * with plain JSON, JSON in a code fence (with or without `json`), JSON with prose around it, a bare
 * JSON string, or plain prose; they also stop mid-answer (`finish_reason: "length"`), get filtered,
 * or drop the field. Pure: no I/O.
 */

export type ExplanationFailure = 'truncated' | 'content_filter' | 'empty' | 'unparseable' | 'missing_field';

export type ParsedExplanation = { ok: true; explanation: string; shape: 'json' | 'fenced' | 'embedded' | 'string' | 'prose' } | { ok: false; reason: ExplanationFailure; detail: string };

export interface ParseExplanationOptions {
  /** The JSON field holding the explanation. Default `explanation`. */
  field?: string;
  /** Take an answer with no JSON at all as the explanation (a model that ignored the format). Default true. */
  acceptProse?: boolean;
}

export function parseExplanation(content: string | null | undefined, finishReason: string | null | undefined, options: ParseExplanationOptions = {}): ParsedExplanation {
  const field = options.field ?? 'explanation';
  if (finishReason === 'length') return fail('truncated', 'the answer was cut at max_tokens (finish_reason "length")');
  if (finishReason === 'content_filter') return fail('content_filter', 'the answer was filtered (finish_reason "content_filter")');
  const text = (content ?? '').trim();
  if (text === '') return fail('empty', 'the answer is empty');

  // 1. The whole answer is JSON.
  const whole = tryJson(text);
  if (whole.ok) return fromValue(whole.value, field, 'json');

  // 2. JSON inside a code fence: ```json … ``` or ``` … ```.
  const fence = /```[ \t]*(?:json|JSON)?[ \t]*\r?\n?([\s\S]*?)```/.exec(text);
  if (fence) {
    const inner = tryJson(fence[1]!.trim());
    if (inner.ok) return fromValue(inner.value, field, 'fenced');
  }

  // 3. A JSON object with prose before or after it: the first balanced {...} that parses.
  for (let start = text.indexOf('{'); start !== -1; start = text.indexOf('{', start + 1)) {
    const end = balancedEnd(text, start);
    if (end === -1) break;
    const candidate = tryJson(text.slice(start, end + 1));
    if (candidate.ok && typeof candidate.value === 'object' && candidate.value !== null) {
      const result = fromValue(candidate.value, field, 'embedded');
      if (result.ok) return result;
    }
  }

  // 4. An object that never closes: cut short, though finish_reason did not say so.
  if (/^\s*(```[a-zA-Z]*\s*)?\{/.test(text)) return fail('unparseable', `the answer looks like JSON but does not parse: ${excerpt(text)}`);
  // 5. Prose: the model ignored the format but answered.
  if ((options.acceptProse ?? true) && !text.includes('{')) return { ok: true, explanation: text, shape: 'prose' };
  return fail('unparseable', `no JSON object with "${field}" in the answer: ${excerpt(text)}`);
}

function fromValue(value: unknown, field: string, shape: 'json' | 'fenced' | 'embedded'): ParsedExplanation {
  if (typeof value === 'string') {
    const s = value.trim();
    return s ? { ok: true, explanation: s, shape: 'string' } : fail('empty', 'the answer is an empty string');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('unparseable', `the answer is JSON but not an object: ${excerpt(JSON.stringify(value))}`);
  const v = (value as Record<string, unknown>)[field];
  if (typeof v === 'string' && v.trim() !== '') return { ok: true, explanation: v.trim(), shape };
  if (v === undefined) {
    const keys = Object.keys(value).slice(0, 5).map((k) => JSON.stringify(k)).join(', ');
    return fail('missing_field', `the JSON answer has no "${field}" field (it has ${keys || 'none'})`);
  }
  return fail(typeof v === 'string' ? 'empty' : 'missing_field', `"${field}" is ${typeof v === 'string' ? 'empty' : `not a string but ${JSON.stringify(v)?.slice(0, 40)}`}`);
}

function tryJson(text: string): { ok: true; value: unknown } | { ok: false } {
  const first = text[0];
  if (first !== '{' && first !== '"' && first !== '[') return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** Index of the `}` closing the object opened at `start`, skipping strings; -1 if it never closes. */
function balancedEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

function fail(reason: ExplanationFailure, detail: string): ParsedExplanation {
  return { ok: false, reason, detail };
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  return JSON.stringify(flat.length > 80 ? `${flat.slice(0, 80)}…` : flat);
}
