import { bufferLines } from '../core/sync-lines.js';
import { afterCustomIdKey, idLiteral, idOfLiteral, plainLiteralFrom, type LiteralRange } from '../core/json/id-key.js';
import type { ResultSource } from './read-results.js';
import type { Stage } from '../types.js';

/** Where one result line is: enough to read it again, and its id to sort by. */
export interface ResultPointer {
  id: string;
  /** Index of the source in the list given to the merge. */
  src: number;
  /** Byte offset and length of the line (without its newline). */
  offset: number;
  length: number;
  /** Newer results have larger orders (source order, then position). */
  order: number;
}

export interface IndexResultsOptions {
  /** A line whose id cannot be found (not a result line): counted, never fatal. */
  onBadLine?: (source: string, message: string) => void | Promise<void>;
  /** Read size. Default 1 MiB. */
  chunkBytes?: number;
}


/** A line of a result file that is not a result line. */
export interface BadResultLine {
  bad: string;
  /** `file:line`. */
  source: string;
}

/**
 * Stage: result files → one pointer per result line: its id, where it is, and its order. The
 * bytes are scanned for newlines and only the start of each line is looked at, so the ~1 KB
 * answer is neither decoded nor parsed here (the merge sorts the small pointers and reads the
 * lines it keeps once, at the end). A line of another shape is parsed whole to find its
 * `custom_id`. Memory: one read chunk, and one line when a line is longer than a chunk.
 * Failures: a line that is no result line goes to `onBadLine` and is skipped; a file that cannot
 * be read fails the stage (the merge reports it by name).
 */
export function indexResults(options: IndexResultsOptions = {}): Stage<ResultSource & { index: number }, ResultPointer> {
  return async function* indexResultsStage(sources) {
    for await (const src of sources) {
      for (const k of resultLineKeys(src, options.chunkBytes)) {
        if ('bad' in k) await options.onBadLine?.(k.source, k.bad);
        else yield { id: idOfLiteral(k.id.buf, k.id.start, k.id.end), src: src.index, offset: k.offset, length: k.length, order: k.order };
      }
    }
  };
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
 */
export function* resultLineKeys(src: ResultSource, chunkBytes?: number): Generator<ResultLineKey | BadResultLine> {
  const key: ResultLineKey = { id: { buf: EMPTY, start: 0, end: 0 }, offset: 0, length: 0, order: 0 };
  for (const v of bufferLines(src.path, chunkBytes)) {
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
