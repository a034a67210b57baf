import { BASE64_SLICE_BYTES, dataUriPrefix, isDataUri } from './line-writer.js';
import type { DataUri } from '../types.js';

/**
 * Direct mode's view of a Batch API request line: its `custom_id` and its `body`, cut out of the
 * line's text where they lie (never parsed into objects and serialised again: a line carries a
 * base64 image of up to tens of MB, and the body is sent as it is written), and an estimate of
 * the tokens it will cost, for rate limits.
 */
export interface DirectRequest {
  /** The line's `custom_id`: the dataset row's id. */
  customId: string;
  /** The chat completions body, as JSON text. */
  body: string;
  /** Estimated tokens: the answer cap, the text, the images. */
  tokens: number;
  /** Dataset line, or request file line, for messages. */
  line: number;
}

/** What a line lacks to be a request line: the field, and why. */
export interface RequestLineProblem {
  field: 'line' | 'custom_id' | 'body';
  code: 'E_BAD_JSON' | 'E_NOT_OBJECT' | 'E_MISSING_FIELD' | 'E_FIELD_TYPE' | 'E_EMPTY_FIELD';
  message: string;
  /** The line's id, when it has one. */
  customId?: string;
}

/**
 * Tokens per image when estimating: gpt-4o's tile formula for a 1024×1024 image at `high`
 * (85 + 4 × 170) and at `low`. A rough bound; the server's own headers correct it.
 */
export const IMAGE_TOKENS = { high: 765, low: 85 } as const;
/** Characters per token of text, the usual rule of thumb for English. */
export const CHARS_PER_TOKEN = 4;

/** Cuts `custom_id` and `body` out of a request line; the body is scanned for the estimate. */
export function requestFromLine(text: string, line: number): DirectRequest | RequestLineProblem {
  let customId: string | undefined;
  let body: { start: number; end: number } | undefined;
  try {
    let i = skipSpace(text, 0);
    if (text.charCodeAt(i) !== OPEN_BRACE) return notAnObject(text);
    i = skipSpace(text, i + 1);
    while (text.charCodeAt(i) !== CLOSE_BRACE) {
      if (text.charCodeAt(i) !== QUOTE) throw new SyntaxError(`expected a key at character ${i}`);
      const keyEnd = stringEnd(text, i);
      const key = keyOf(text, i, keyEnd);
      i = skipSpace(text, keyEnd + 1);
      if (text.charCodeAt(i) !== COLON) throw new SyntaxError(`expected ':' at character ${i}`);
      const start = skipSpace(text, i + 1);
      const end = valueEnd(text, start);
      if (key === 'custom_id') {
        if (text.charCodeAt(start) !== QUOTE) return { field: 'custom_id', code: 'E_FIELD_TYPE', message: 'field "custom_id" must be a string' };
        customId = JSON.parse(text.slice(start, end)) as string;
      } else if (key === 'body') {
        if (text.charCodeAt(start) !== OPEN_BRACE) return { field: 'body', code: 'E_FIELD_TYPE', message: 'field "body" must be an object' };
        body = { start, end };
      }
      i = skipSpace(text, end);
      if (text.charCodeAt(i) === COMMA) i = skipSpace(text, i + 1);
      else if (text.charCodeAt(i) !== CLOSE_BRACE) throw new SyntaxError(`expected ',' or '}' at character ${i}`);
    }
    if (skipSpace(text, i + 1) !== text.length) throw new SyntaxError(`unexpected text after the object at character ${i + 1}`);
  } catch (err) {
    return { field: 'line', code: 'E_BAD_JSON', message: `not valid JSON (${(err as Error).message})` };
  }
  if (customId === undefined) return { field: 'custom_id', code: 'E_MISSING_FIELD', message: 'field "custom_id" is missing' };
  if (customId.trim() === '') return { field: 'custom_id', code: 'E_EMPTY_FIELD', message: 'field "custom_id" is empty' };
  if (body === undefined) return { field: 'body', code: 'E_MISSING_FIELD', message: 'field "body" is missing', customId };
  return { customId, body: text.slice(body.start, body.end), tokens: estimateBodyTokens(text, body.start, body.end), line };
}

function notAnObject(text: string): RequestLineProblem {
  try {
    JSON.parse(text);
    return { field: 'line', code: 'E_NOT_OBJECT', message: 'the line is JSON but not an object' };
  } catch (err) {
    return { field: 'line', code: 'E_BAD_JSON', message: `not valid JSON (${(err as Error).message})` };
  }
}

/**
 * Estimated tokens of a chat completions body (JSON text from `start` to `end`): its answer cap
 * (`max_tokens` or `max_completion_tokens`; 0 when absent), a token per {@link CHARS_PER_TOKEN}
 * characters of its strings (data URIs left out) and {@link IMAGE_TOKENS} per `image_url`.
 */
export function estimateBodyTokens(text: string, start = 0, end = text.length): number {
  let depth = 0;
  let key = '';
  let chars = 0;
  let images = 0;
  let low = 0;
  let answer = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const close = stringEnd(text, i);
      const after = skipSpace(text, close + 1);
      if (text.charCodeAt(after) === COLON) {
        key = keyOf(text, i, close);
        if (key === 'image_url') images++;
        i = after;
        continue;
      }
      if (!text.startsWith('data:', i + 1)) chars += close - i - 1;
      if (key === 'detail' && text.startsWith('"low"', i)) low++;
      i = close;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
    else if (depth === 1 && (key === 'max_tokens' || key === 'max_completion_tokens') && c >= 0x30 && c <= 0x39) {
      const m = /^\d+/.exec(text.slice(i, Math.min(end, i + 16)))!;
      answer = Number(m[0]);
      i += m[0].length - 1;
    }
  }
  return answer + Math.ceil(chars / CHARS_PER_TOKEN) + (images - low) * IMAGE_TOKENS.high + low * IMAGE_TOKENS.low;
}

/** A request line's segments joined into its text, the image encoded in slices (see line-writer.ts). */
export function lineText(segments: ReadonlyArray<string | DataUri>): string {
  const parts: string[] = [];
  for (const s of segments) {
    if (!isDataUri(s)) {
      parts.push(s);
      continue;
    }
    parts.push(dataUriPrefix(s));
    for (let at = 0; at < s.data.length; at += BASE64_SLICE_BYTES) parts.push(s.data.toString('base64', at, Math.min(s.data.length, at + BASE64_SLICE_BYTES)));
  }
  return parts.join('');
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

function skipSpace(text: string, i: number): number {
  for (let c = text.charCodeAt(i); c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d; c = text.charCodeAt(++i));
  return i;
}

/** Index of the quote closing the string that opens at `start`. Jumps from quote to quote: a base64 image is crossed in one search. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; ; ) {
    const q = text.indexOf('"', i);
    if (q === -1) throw new SyntaxError('unterminated string');
    let slashes = 0;
    while (text.charCodeAt(q - 1 - slashes) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return q;
    i = q + 1;
  }
}

function keyOf(text: string, open: number, close: number): string {
  const raw = text.slice(open + 1, close);
  return raw.includes('\\') ? (JSON.parse(text.slice(open, close + 1)) as string) : raw;
}

/** End (exclusive) of the JSON value that starts at `start`. */
function valueEnd(text: string, start: number): number {
  const c = text.charCodeAt(start);
  if (c === QUOTE) return stringEnd(text, start) + 1;
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    for (let i = start; i < text.length; i++) {
      const d = text.charCodeAt(i);
      if (d === QUOTE) i = stringEnd(text, i);
      else if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
      else if ((d === CLOSE_BRACE || d === CLOSE_BRACKET) && --depth === 0) return i + 1;
    }
    throw new SyntaxError('unterminated object or array');
  }
  const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(start, start + 64));
  if (!m) throw new SyntaxError(`unexpected character at ${start}`);
  return start + m[0].length;
}
