import { ResultResolvePool } from '../../core/results/result-resolve-pool.js';
import { EntryBatch } from '../../core/sort/entry-batch.js';
import { readDecimal } from '../../core/io/decimal.js';
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
 * Stage: joined rows sorted by their result's pointer (`<line>[\t<order>]` keyed by
 * `src × 2^40 + offset`, or `<line>\t<failure>` keyed -1 for a row with no result:
 * core/join/id-join.ts) → outcomes keyed by dataset line, in no particular order: the result
 * lines pointed to, read in file order and parsed (the payloads of core/results/result-resolver.ts).
 * The pointers go in batches to threads that read and parse the lines themselves (each batch
 * within one file and {@link SPAN_BYTES} of it): reading and parsing a million ~1 KB answers is
 * most of a merge's work, and it splits cleanly. A thread's output is handed on where it lies.
 * The threads end when the input does, or when the consumer stops.
 */
export function resolveResults(options: ResolveResultsOptions): Stage<EntryBatch, EntryBatch> {
  return async function* resolveResultsStage(rows, { signal } = {}) {
    // Started with the first pointer: a pipeline starts this stage long before its input comes,
    // and idle threads' heaps would be resident all that time.
    let started = null as ResultResolvePool | null;
    const threads = () => (started ??= new ResultResolvePool({ threads: options.threads, batchBytes: BATCH_BYTES, sources: options.sources, ...(options.field ? { field: options.field } : {}) }));
    const inflight: Array<Promise<{ out: Buffer; bad: number }>> = [];
    // Rows with no result (copied), and the threads' outputs (read in place).
    const direct = new EntryBatch();
    const parsed = new EntryBatch();
    let batch: Buffer = EMPTY;
    let used = 0;
    // The source and first offset of the batch's pointers (-1: none yet).
    let batchSrc = -1;
    let batchFrom = 0;
    const send = () => {
      const reply = threads().resolve(batch, used);
      reply.catch(() => {}); // awaited in turn below
      inflight.push(reply);
      batch = threads().batch();
      used = 0;
      batchSrc = -1;
    };
    async function* replies(all: boolean): AsyncGenerator<EntryBatch> {
      while (inflight.length > 0 && (all || inflight.length >= threads().capacity)) {
        const { out, bad } = await inflight.shift()!;
        if (bad > 0) options.onBadLines?.(bad);
        // `<line>\t<payload>\n` lines.
        parsed.over(out);
        for (let at = 0; at < out.length; ) {
          const tab = out.indexOf(TAB, at);
          const nl = out.indexOf(NEWLINE, tab);
          parsed.addView(readDecimal(out, at, tab), tab + 1, nl);
          at = nl + 1;
        }
        yield parsed;
        parsed.clear();
        threads().recycle(out);
        signal?.throwIfAborted();
      }
    }
    try {
      for await (const rowBatch of rows) {
        const { keys, starts, ends, bytes } = rowBatch;
        for (let i = 0; i < rowBatch.count; i++) {
          const key = keys[i]!;
          if (key === -1) {
            // `<line>\t<failure>`: already an outcome.
            const tab = bytes.indexOf(TAB, starts[i]);
            direct.addBytes(readDecimal(bytes, starts[i]!, tab), bytes, tab + 1, ends[i]!);
            if (direct.full) {
              yield direct;
              direct.clear();
            }
            continue;
          }
          const src = Math.floor(key / 2 ** 40);
          const offset = key - src * 2 ** 40;
          if (used > 0 && (src !== batchSrc || offset - batchFrom > SPAN_BYTES || used + POINTER_ROOM + ends[i]! - starts[i]! > batch.length)) {
            send();
            yield* replies(false);
          }
          if (used === 0) {
            if (batch === EMPTY) batch = threads().batch();
            batchSrc = src;
            batchFrom = offset;
          }
          used = framePointer(batch, used, src, offset, bytes, starts[i]!, ends[i]!);
        }
      }
      if (used > 0) send();
      yield* replies(true);
      if (!direct.empty) yield direct;
      // The threads' heaps stay resident until they exit.
      await started?.close();
    } finally {
      // Replies still coming are let go.
      await Promise.allSettled(inflight);
      await started?.close();
    }
  };
}

const TAB = 9;
const NEWLINE = 10;
const EMPTY = Buffer.alloc(0);
