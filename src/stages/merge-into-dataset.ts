import { bufferLines } from '../core/sync-lines.js';
import { setTopLevelField, topLevelValueSpan } from '../core/json-splice.js';
import type { Stage } from '../types.js';

/** The outcome for one dataset row, from the join: its explanation, or why there is none. */
export interface RowOutcome {
  line: number;
  id: string;
  explanation: string | null;
  /** The explanation already as a JSON string literal (saves a parse and a stringify per row). */
  explanationJson?: string;
  /** Why there is no explanation. */
  reason?: string;
  code?: string;
  message?: string;
}

/**
 * A row of the merged dataset, and, when it has no explanation, its entry for the errors file.
 * `parts` are views into reused buffers: write them before asking for the next row.
 */
export interface MergedRow {
  line: number;
  parts: Buffer[];
  missing?: { line: number; id: string | null; reason: string; code?: string; message?: string };
}

export interface MergeIntoDatasetOptions {
  /** The dataset file (read again, line by line, in its order). */
  dataset: string;
  /** Default `generated_explanation`. */
  field?: string;
  /** The build's rejects sorted by line: why a row with no outcome never made a request. */
  rejects?: AsyncIterable<{ line: number; code: string; message: string }>;
}

const NULL = Buffer.from('null');

/**
 * Stage: row outcomes sorted by line → the dataset's rows in their own order, each with the
 * explanation field added and every other byte of the line kept: the field is spliced in before
 * the closing brace of the line's bytes (or its value replaced, when the line has it already).
 * Every non-blank line comes out exactly once: a row with no outcome (its line was not JSON, or it
 * had no usable id) comes out with `null` (or as it was, when not a JSON object) and a reason,
 * the build's reject for that line when known. Holds one line.
 */
export function mergeIntoDataset(options: MergeIntoDatasetOptions): Stage<RowOutcome, MergedRow> {
  const field = options.field ?? 'generated_explanation';
  const fieldBytes = Buffer.from(JSON.stringify(field));
  const compact = Buffer.concat([Buffer.from(','), fieldBytes, Buffer.from(':')]);
  const spaced = Buffer.concat([Buffer.from(', '), fieldBytes, Buffer.from(': ')]);
  const keyOnly = Buffer.concat([fieldBytes, Buffer.from(':')]);
  const fieldName = Buffer.from(field);
  return async function* mergeIntoDatasetStage(outcomes) {
    const it = outcomes[Symbol.asyncIterator]();
    let next = await it.next();
    const rejects = options.rejects?.[Symbol.asyncIterator]();
    let rej = rejects ? await rejects.next() : undefined;
    const rejectFor = async (line: number) => {
      while (rej && !rej.done && rej.value.line < line) rej = await rejects!.next();
      return rej && !rej.done && rej.value.line === line ? rej.value : undefined;
    };
    try {
      for (const v of bufferLines(options.dataset)) {
        const { buf, line } = v;
        let start = v.start;
        if (line === 1 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) start += 3;
        let s = start;
        while (s < v.end && (buf[s] === 32 || buf[s] === 9 || buf[s] === 13)) s++;
        if (s === v.end) continue; // blank: not a row
        while (!next.done && next.value.line < line) next = await it.next();
        const outcome = !next.done && next.value.line === line ? next.value : undefined;
        if (outcome) next = await it.next();
        const valueJson = outcome?.explanationJson ?? (outcome && outcome.explanation !== null ? JSON.stringify(outcome.explanation) : null);
        const value = valueJson === null ? NULL : Buffer.from(valueJson);
        const parts = buf[s] === 123 ? splice(buf, start, v.end, value) : [buf.subarray(start, v.end)];
        if (valueJson !== null) {
          yield { line, parts };
          continue;
        }
        // A row with no result at all may have been refused at build: that is its reason then.
        const noResult = !outcome || outcome.reason === 'no_result' || outcome.reason === 'pending';
        const reject = noResult ? await rejectFor(line) : undefined;
        const missing =
          outcome && !reject
            ? { line, id: outcome.id, reason: outcome.reason ?? 'no_result', ...(outcome.code ? { code: outcome.code } : {}), ...(outcome.message ? { message: outcome.message } : {}) }
            : {
                line,
                id: outcome?.id ?? idOf(buf.toString('utf8', start, v.end)),
                reason: 'not_sent',
                ...(reject ? { code: reject.code, message: reject.message } : { message: 'the row could not become a request (no usable id, or not a JSON object)' }),
              };
        yield { line, parts, missing };
      }
      if (!next.done) throw new Error(`merge: an outcome for line ${next.value.line} has no dataset line (was the dataset changed?)`);
    } finally {
      await Promise.all([it.return?.(), rejects?.return?.()]);
    }
  };

  /** The line's bytes with the field set: spliced before the last `}`, or through the text path when the line names the field. */
  function splice(buf: Buffer, start: number, end: number, value: Buffer): Buffer[] {
    const line = buf.subarray(start, end);
    if (line.indexOf(fieldName) !== -1) {
      // The name occurs: the field may be there already (a second merge). Rare: work on text.
      const text = line.toString('utf8');
      try {
        if (topLevelValueSpan(text, field) !== null || !line.includes('}')) return [Buffer.from(setTopLevelField(text, field, value.toString('utf8')))];
      } catch {
        return [line];
      }
    }
    let close = end - 1;
    while (close >= start && buf[close] !== 125) close--;
    if (close < start) return [line];
    let body = close;
    while (body > start && (buf[body - 1] === 32 || buf[body - 1] === 9)) body--;
    let open = start;
    while (buf[open] !== 123) open++;
    const empty = body === open + 1;
    // Follow the line's own style: Python's json.dumps writes `, ` and `: `.
    const sep = empty ? keyOnly : isSpaced(buf, start, close) ? spaced : compact;
    return [buf.subarray(start, body), sep, value, buf.subarray(body, end)];
  }
}

/** `": ` somewhere in the line: the dataset writes spaces after colons. */
function isSpaced(buf: Buffer, start: number, end: number): boolean {
  for (let i = buf.indexOf(58, start); i !== -1 && i < end; i = buf.indexOf(58, i + 1)) {
    if (buf[i - 1] === 34 && (buf[i + 1] === 32 || buf[i + 1] === 9)) return true;
  }
  return false;
}

function idOf(text: string): string | null {
  try {
    const v = JSON.parse(text) as { id?: unknown };
    return typeof v?.id === 'string' || typeof v?.id === 'number' ? String(v.id) : null;
  } catch {
    return null;
  }
}
