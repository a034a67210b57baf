// The keys of result lines (id literal, offset, order), read from the bytes (out of stages/reverse/index-results.ts: the merge's index thread needs them too).
import { bufferLines } from '../io/sync-lines.js';
import { afterCustomIdKey, idLiteral, plainLiteralFrom, type LiteralRange } from '../json/id-key.js';
import type { ResultSource } from './result-line.js';

/** A line of a result file that is not a result line. */
export interface BadResultLine {
  bad: string;
  /** `file:line`. */
  source: string;
}

/** A result line's id (as its JSON literal: a view, valid until the next line) and place. */
export interface ResultLineKey {
  id: LiteralRange;
  offset: number;
  length: number;
  order: number;
}

/**
 * The stage's synchronous core, used by the merge directly: the keys of one result file's
 * lines. The object yielded and its views are reused: read them before asking for the next.
 * `chunk`: the read buffer's size, or a buffer to read into, for reading many files one after
 * the other (the ids yielded are views of it; never two readers at once).
 */
export function* resultLineKeys(src: ResultSource, chunk?: number | Buffer): Generator<ResultLineKey | BadResultLine> {
  const key: ResultLineKey = { id: { buf: EMPTY, start: 0, end: 0 }, offset: 0, length: 0, order: 0 };
  for (const v of bufferLines(src.path, chunk)) {
    if (v.end === v.start) continue;
    if (!resultIdAt(v.buf, v.start, v.end, key.id)) {
      yield { bad: 'not a result line (no custom_id)', source: `${src.path}:${v.line}` };
      continue;
    }
    key.offset = v.offset;
    key.length = v.end - v.start;
    key.order = src.order * 1e9 + v.line;
    yield key;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The `custom_id` literal of a result line into `id`: read where it lies at the start of the usual
 * line, else from the parsed line; false for a line that has none (not a result line).
 */
export function resultIdAt(buf: Buffer, start: number, end: number, id: LiteralRange): boolean {
  if (plainLiteralFrom(buf, afterCustomIdKey(buf, start, end), end, id)) return true;
  let customId: unknown;
  try {
    customId = (JSON.parse(buf.toString('utf8', start, end)) as { custom_id?: unknown } | null)?.custom_id;
  } catch {
    return false;
  }
  if (typeof customId !== 'string') return false;
  const literal = idLiteral(customId);
  id.buf = literal;
  id.start = 0;
  id.end = literal.length;
  return true;
}
