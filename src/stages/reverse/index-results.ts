import { idOfLiteral } from '../../core/json/id-key.js';
import { resultLineKeys } from '../../core/results/result-keys.js';
import { positiveInteger } from '../../core/flow/options.js';
import { LINE_CHUNK_BYTES } from '../../core/io/sync-lines.js';
import type { ResultSource } from '../../core/results/result-line.js';
import type { Stage } from '../../types.js';

export { resultIdAt, resultLineKeys, type BadResultLine, type ResultLineKey } from '../../core/results/result-keys.js';

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
  if (options.chunkBytes !== undefined) positiveInteger('chunkBytes', options.chunkBytes);
  return async function* indexResultsStage(sources) {
    // One chunk for every file (a job has tens of them): the pointers yielded hold no view of it.
    const chunk = Buffer.allocUnsafeSlow(options.chunkBytes ?? LINE_CHUNK_BYTES);
    for await (const src of sources) {
      for (const k of resultLineKeys(src, chunk)) {
        if ('bad' in k) await options.onBadLine?.(k.source, k.bad);
        else yield { id: idOfLiteral(k.id.buf, k.id.start, k.id.end), src: src.index, offset: k.offset, length: k.length, order: k.order };
      }
    }
  };
}

