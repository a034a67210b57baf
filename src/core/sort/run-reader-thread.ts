import { packageWorker, WorkerPool } from '../threads/worker-pool.js';
import { EntryBatch, transferList, type EntryBatchParts } from './entry-batch.js';
import { RunSorter, type SpilledRuns } from './run-sorter.js';

export interface ReadRunsOnThreadOptions {
  /** Runs merged at once; more are merged in passes (on the thread). Default 64. */
  fanIn?: number;
  /** Entries and payload bytes per batch. Defaults {@link THREAD_BATCH_ENTRIES} and {@link THREAD_BATCH_BYTES}. */
  entries?: number;
  bytes?: number;
  signal?: AbortSignal;
}

/**
 * The entries of a sorter's spilled runs ({@link RunSorter.detach}) in key order, in batches,
 * read and merged k-way on a thread of its own: the reading, the decoding of each line and the
 * heap of runs then overlap whatever the calling thread does with the batches (the merge joins
 * them, or splices them into the dataset). Two batches are under way at a time, and go round:
 * a batch is valid until the next is asked for, as with {@link sortedEntryBatches}. The runs
 * are the generator's once it has started (start it at once: `yield*`): they are removed at the
 * end, when the consumer stops early, and on any failure.
 */
export async function* readRunsOnThread(spilled: SpilledRuns, options: ReadRunsOnThreadOptions = {}): AsyncGenerator<EntryBatch> {
  let thread: WorkerPool<RunReadCall, RunReadReply> | null = null;
  const asked: Array<Promise<RunReadReply>> = [];
  const ask = (parts: EntryBatchParts | null) => {
    const call = thread!.call({ parts }, parts ? transferList(parts) : []);
    // Awaited in turn; one left waiting when the consumer stops must not be unhandled.
    call.catch(() => {});
    asked.push(call);
  };
  try {
    if (spilled.kind === 'string') throw new Error('readRunsOnThread: runs of string keys (entry batches hold numbers)');
    options.signal?.throwIfAborted();
    const data: RunReaderData = { spilled, fanIn: options.fanIn ?? 64, entries: options.entries ?? THREAD_BATCH_ENTRIES, bytes: options.bytes ?? THREAD_BATCH_BYTES };
    thread = new WorkerPool<RunReadCall, RunReadReply>({ url: packageWorker('core/sort/run-reader-worker.js'), threads: 1, workerData: data, name: 'run reader' });
    ask(null);
    ask(null);
    for (;;) {
      const reply = await asked.shift()!;
      options.signal?.throwIfAborted();
      if (reply.parts.count > 0) {
        const batch = new EntryBatch({ parts: reply.parts });
        yield batch;
        options.signal?.throwIfAborted();
        if (!reply.done) ask(batch.parts());
      }
      if (reply.done) return;
    }
  } finally {
    await thread?.close();
    RunSorter.remove(spilled);
  }
}

/**
 * Larger batches than between stages on one thread: a message costs tens of microseconds, and
 * 64 KiB of explanations is only ~100 of them.
 */
export const THREAD_BATCH_ENTRIES = 8192;
export const THREAD_BATCH_BYTES = 512 << 10;

/** The thread's \`workerData\` (run-reader-worker.ts). */
export interface RunReaderData {
  spilled: SpilledRuns;
  fanIn: number;
  entries: number;
  bytes: number;
}

/** A call: a batch to fill (its parts transferred), or null for a new one. */
export interface RunReadCall {
  parts: EntryBatchParts | null;
}

/** The batch filled (transferred); \`done\`: the runs are read to the end. */
export interface RunReadReply {
  parts: EntryBatchParts;
  done: boolean;
}
