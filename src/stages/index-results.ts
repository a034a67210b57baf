import { bufferLines } from '../core/sync-lines.js';
import { leadingField } from '../core/leading-field.js';
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

/** Batch output lines start `{"id":"batch_req_…","custom_id":"…"` (OpenAI, Azure, vLLM, ours): read the id from there. */
const PREFIX = /^\{\s*(?:"id"\s*:\s*"[^"\\]*"\s*,\s*)?"custom_id"\s*:\s*/;

/** A line of a result file that is not a result line. */
export interface BadResultLine {
  bad: string;
  /** `file:line`. */
  source: string;
}

/**
 * Stage: result files → one pointer per result line: its id, where it is, and its order. The
 * bytes are scanned for newlines and only the start of each line is decoded, so the ~1 KB answer
 * is neither decoded nor parsed here (the merge sorts the small pointers and reads the lines it
 * keeps once, at the end). A line of another shape is parsed whole to find its `custom_id`.
 * Memory: one read chunk, and one line when a line is longer than a chunk.
 */
export function indexResults(options: IndexResultsOptions = {}): Stage<ResultSource & { index: number }, ResultPointer> {
  return async function* indexResultsStage(sources) {
    for await (const src of sources) {
      for (const p of resultPointers(src, options.chunkBytes)) {
        if ('bad' in p) await options.onBadLine?.(p.source, p.bad);
        else yield p;
      }
    }
  };
}

/** The pointers of one result file, read synchronously (the stage's core, used by the merge directly). */
export function* resultPointers(src: ResultSource & { index: number }, chunkBytes?: number): Generator<ResultPointer | BadResultLine> {
  for (const v of bufferLines(src.path, chunkBytes)) {
    if (v.end === v.start) continue;
    const id = idOf(v.buf, v.start, v.end);
    if (id === null) yield { bad: 'not a result line (no custom_id)', source: `${src.path}:${v.line}` };
    else yield { id, src: src.index, offset: v.offset, length: v.end - v.start, order: src.order * 1e9 + v.line };
  }
}

/** The custom_id of the line in buf[start, end), or null. */
function idOf(buf: Buffer, start: number, end: number): string | null {
  const id = leadingField(buf, start, end, PREFIX);
  if (typeof id === 'string') return id;
  try {
    const v = JSON.parse(buf.toString('utf8', start, end)) as { custom_id?: unknown };
    return typeof v?.custom_id === 'string' ? v.custom_id : null;
  } catch {
    return null;
  }
}
