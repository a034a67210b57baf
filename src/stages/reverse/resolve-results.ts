import { ResultResolvePool } from '../../core/results/result-resolve-pool.js';
import { readRunLine, RunLinesWriter, type RunLines } from '../../core/sort/run-lines.js';
import { BATCH_BYTES, framePointer, POINTER_ROOM, SPAN_BYTES } from '../../core/join/join-steps.js';
import type { Stage } from '../../types.js';

export interface ResolveResultsOptions {
  /** The result files, by the source index the pointers carry. */
  sources: readonly string[];
  /** Threads that read and parse the result lines; 0 does it on the calling thread. */
  threads: number;
  /** The JSON field of the explanation in the answers. Default `explanation`. */
  field?: string;
  /** Told of result lines that were not result lines, or were gone, batch by batch. */
  onBadLines?: (count: number) => void;
}

/**
 * Stage: joined rows sorted by their result's pointer (`<src × 2^40 + offset>\t<line>[\t<order>]`,
 * or `-1\t<line>\t<failure>` for a row with no result: core/join/id-join.ts) → outcome lines
 * `<line>\t<payload>` (core/results/result-resolver.ts), in no particular order: the result lines
 * pointed to, read in file order and parsed. The pointers go in batches to threads that read and
 * parse the lines themselves (each batch within one file and {@link SPAN_BYTES} of it): reading
 * and parsing a million ~1 KB answers is most of a merge's work, and it splits cleanly. The
 * threads end when the input does, or when the consumer stops.
 */
export function resolveResults(options: ResolveResultsOptions): Stage<RunLines, RunLines> {
  return async function* resolveResultsStage(rows, { signal } = {}) {
    const pool = new ResultResolvePool({ threads: options.threads, batchBytes: BATCH_BYTES, sources: options.sources, ...(options.field ? { field: options.field } : {}) });
    const inflight: Array<Promise<{ out: Buffer; bad: number }>> = [];
    const direct = new RunLinesWriter();
    let batch = pool.batch();
    let used = 0;
    // The source and first offset of the batch's pointers (-1: none yet).
    let batchSrc = -1;
    let batchFrom = 0;
    const send = () => {
      const reply = pool.resolve(batch, used);
      reply.catch(() => {}); // awaited in turn below
      inflight.push(reply);
      batch = pool.batch();
      used = 0;
      batchSrc = -1;
    };
    async function* replies(all: boolean): AsyncGenerator<RunLines> {
      while (inflight.length > 0 && (all || inflight.length >= pool.capacity)) {
        const { out, bad } = await inflight.shift()!;
        if (bad > 0) options.onBadLines?.(bad);
        yield out;
        pool.recycle(out);
        signal?.throwIfAborted();
      }
    }
    const line = { key: 0, tab: 0, end: 0 };
    try {
      for await (const chunk of rows) {
        for (let at = 0; at < chunk.length; ) {
          readRunLine(chunk, at, line);
          const { key, tab, end: nl } = line;
          at = nl + 1;
          if (key === -1) {
            // Already an outcome, `<line>\t<failure>`.
            direct.addLine(chunk, tab + 1, nl);
            if (direct.full) yield direct.take();
            continue;
          }
          const src = Math.floor(key / 2 ** 40);
          const offset = key - src * 2 ** 40;
          if (used > 0 && (src !== batchSrc || offset - batchFrom > SPAN_BYTES || used + POINTER_ROOM + nl - tab > batch.length)) {
            send();
            yield* replies(false);
          }
          if (used === 0) {
            batchSrc = src;
            batchFrom = offset;
          }
          used = framePointer(batch, used, src, offset, chunk, tab + 1, nl);
        }
      }
      if (used > 0) send();
      yield* replies(true);
      if (!direct.empty) yield direct.take();
      // The threads' heaps stay resident until they exit.
      await pool.close();
    } finally {
      // Replies still coming are let go.
      await Promise.allSettled(inflight);
      await pool.close();
    }
  };
}

