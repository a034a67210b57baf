import { isUtf8 } from 'node:buffer';
import type { JsonSkipper } from './result-json.js';
import type { LineView } from '../io/sync-lines.js';

/** Whether a dataset line can go into the merged output: JSONL that every reader (jq, pandas) takes. */

/** The build's reject codes for a line that is not a JSON object. */
const NOT_AN_OBJECT = new Set(['E_BAD_JSON', 'E_NOT_OBJECT']);

/**
 * Why `buf[start, end)` (a line, BOM removed) is not a JSON object, or null. Cheap checks on every
 * line: UTF-8 (`utf8`, checked by the caller a block at a time: {@link Utf8Blocks}) and the braces
 * at both ends; then the build's verdict on it (`rejectCode`). The grammar is checked in full (by
 * `skipper`, on the bytes, allocating nothing) unless `trusted`: the row made a request and the
 * build's rejects are known, so the build parsed the line.
 */
export function whyNotAnObject(buf: Buffer, start: number, end: number, utf8: boolean, rejectCode: string | undefined, trusted: boolean, skipper: JsonSkipper): string | null {
  if (!utf8) return 'the line is not valid UTF-8';
  let first = start;
  while (first < end && isSpace(buf[first]!)) first++;
  let last = end;
  while (last > first && isSpace(buf[last - 1]!)) last--;
  if (buf[first] !== 123 || buf[last - 1] !== 125) return 'the line is not a JSON object';
  if (rejectCode !== undefined && NOT_AN_OBJECT.has(rejectCode)) return rejectCode === 'E_BAD_JSON' ? 'the line is not valid JSON' : 'the line is not a JSON object';
  if (trusted || skipper.object(buf, first, last, 0) === last) return null;
  // Past the skipper's depth, or not JSON: the parser says which, and why.
  try {
    JSON.parse(buf.toString('utf8', start, end));
    return null;
  } catch (err) {
    return `invalid JSON: ${(err as Error).message}`;
  }
}

/** A line's text for the errors file: as a string (JSON escapes its control characters), or base64 when it is not UTF-8. */
export function lineText(buf: Buffer, start: number, end: number): { text: string } | { text_base64: string } {
  const bytes = buf.subarray(start, end);
  return isUtf8(bytes) ? { text: bytes.toString('utf8') } : { text_base64: bytes.toString('base64') };
}

/**
 * UTF-8 validity of a file's lines as {@link bufferLines} gives them, checked natively a block at a
 * time (from a line to the last whole line read): one view allocated per block, not per line (the
 * merge allocates nothing per row). A block with a bad line is checked line by line to its end.
 * Valid UTF-8 cut at a newline (ASCII) is valid on both sides, so a valid block's lines are.
 */
export class Utf8Blocks {
  /** File offset up to which the lines are known valid, and up to which they are checked one by one. */
  #validTo = -1;
  #oneByOneTo = -1;

  valid(v: LineView, start: number): boolean {
    const lineEnd = v.offset + (v.end - v.start);
    if (lineEnd <= this.#validTo) return true;
    if (lineEnd > this.#oneByOneTo) {
      const last = v.buf.lastIndexOf(10, v.filled - 1);
      const blockEnd = Math.max(last, v.end);
      const blockTo = v.offset + (blockEnd - v.start);
      if (isUtf8(v.buf.subarray(start, blockEnd))) {
        this.#validTo = blockTo;
        return true;
      }
      this.#oneByOneTo = blockTo;
    }
    return isUtf8(v.buf.subarray(start, v.end));
  }
}

function isSpace(byte: number): boolean {
  return byte === 32 || byte === 9 || byte === 13;
}
