import { resultFromLine, type ResultRecord } from './result-line.js';
import { readDecimal, writeDecimal } from '../io/decimal.js';
import { ResultScanner } from './result-scan.js';

/**
 * The unit of work of the merge's result parsing, on the main thread or a parse thread: result
 * lines kept by the join, each framed as `<row line>\t<source>\t<offset>\t<order>\t<line bytes>\n`,
 * become outcome lines `<row line>\t<payload>\n`, the payload being what the merge sorts back
 * into dataset order:
 *
 * - `"…"`: the explanation as a JSON string literal, spliced into the row as it is;
 * - `![id, reason, code, message]`: why there is none (JSON);
 * - either behind `*<order>\t` when the row has several results (a resubmission's): the merge
 *   keeps a success, then the newest.
 */

/** Frames one result line for a batch. Returns the bytes used, or -1 if it does not fit in `batch` from `at`. */
export function frameResultLine(batch: Buffer, at: number, row: number, src: number, offset: number, order: number | null, line: Buffer, start: number, end: number): number {
  // The head's four numbers take at most 4 × 16 digits and tabs.
  if (at + FRAME_MAX_EXTRA + (end - start) > batch.length) return -1;
  let i = writeDecimal(batch, at, row);
  batch[i++] = 9;
  i = writeDecimal(batch, i, src);
  batch[i++] = 9;
  i = writeDecimal(batch, i, offset);
  batch[i++] = 9;
  if (order !== null) i = writeDecimal(batch, i, order);
  batch[i++] = 9;
  i += line.copy(batch, i, start, end);
  batch[i++] = 10;
  return i - at;
}

/** Bytes a frame adds to its line, at most. */
export const FRAME_MAX_EXTRA = 4 * 17 + 1;

/**
 * Parses the framed result lines in `batch[0, length)` into `into` (a buffer of its own memory, to
 * reuse; a larger one is made when it is too small). `bad` counts lines that were not result lines.
 * A `scanner` (for `field`) is reused across batches: it reads the usual successful line in place
 * (result-scan.ts); the others go through {@link resultFromLine}.
 */
export function parseResultBatch(batch: Buffer, length: number, sources: readonly string[], field?: string, into?: Buffer, scanner = new ResultScanner(field)): { out: Buffer; bad: number } {
  let out = into && into.length >= 4096 ? into : Buffer.allocUnsafeSlow(Math.max(4096, length));
  let used = 0;
  let bad = 0;
  for (let at = 0; at < length; ) {
    // The frame's head: four tab-ended fields (row, source, offset, order), read in place.
    const t1 = nextTab(batch, at);
    const t2 = nextTab(batch, t1 + 1);
    const t3 = nextTab(batch, t2 + 1);
    const t4 = nextTab(batch, t3 + 1);
    let end = batch.indexOf(10, t4 + 1);
    if (end === -1 || end > length) end = length;
    const scanned = scanner.scan(batch, t4 + 1, end);
    let payload = '';
    if (scanned === -1) {
      const r = resultFromLine(batch.toString('utf8', t4 + 1, end), NOWHERE, field);
      if ('bad' in r) bad++;
      // `where` is only built for a message.
      payload = outcomePayload(r, () => `${sources[readDecimal(batch, t1 + 1, t2)] ?? 'a result file'} at byte ${batch.toString('latin1', t2 + 1, t3)}`);
    }
    const room = t1 - at + 1 + (t4 - t3) + 1 + (scanned === -1 ? payload.length * 3 : scanned) + 1;
    if (used + room > out.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(out.length * 2, used + room));
      out.copy(bigger, 0, 0, used);
      out = bigger;
    }
    used += batch.copy(out, used, at, t1 + 1); // `<row>\t`
    if (t4 > t3 + 1) {
      out[used++] = STAR;
      used += batch.copy(out, used, t3 + 1, t4 + 1); // `<order>\t`
    }
    used += scanned === -1 ? out.write(payload, used, 'utf8') : scanner.output.copy(out, used, 0, scanned);
    out[used++] = 10;
    at = end + 1;
  }
  return { out: out.subarray(0, used), bad };
}

const NOWHERE = { source: '', order: 0 };
const STAR = 0x2a;

function nextTab(buf: Buffer, from: number): number {
  let i = from;
  while (buf[i] !== 9) i++;
  return i;
}


/** A result (or a line that is not one) as an outcome payload. */
export function outcomePayload(r: ResultRecord | { bad: string }, where: () => string): string {
  if ('bad' in r) return failurePayload('', 'no_result', null, `its result line is damaged (${r.bad}) at ${where()}`);
  if (r.explanation !== null) return JSON.stringify(r.explanation);
  const e = r.error!;
  return failurePayload(r.id, e.reason, e.code ?? (e.status ? `http_${e.status}` : null), `${e.message} (${where()})`);
}

export function failurePayload(id: string, reason: string, code: string | null, message: string | null): string {
  return `!${JSON.stringify([id, reason, code, message])}`;
}

/** A failure payload read back (`buf[start, end)` begins with `!`). */
export function readFailure(buf: Buffer, start: number, end: number): { id: string; reason: string; code?: string; message?: string } {
  const [id, reason, code, message] = JSON.parse(buf.toString('utf8', start + 1, end)) as [string, string, string | null, string | null];
  return { id, reason, ...(code === null ? {} : { code }), ...(message === null ? {} : { message }) };
}
