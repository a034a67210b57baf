import { Worker } from 'node:worker_threads';
import { joinResultChunks, readChunkIds, type ChunkIds, type FileChunk, type TableJoinCounts, type TableJoinJob } from './table-join.js';

/**
 * The join by table's two passes on threads sharing the chunks of a file (or on the calling
 * thread, with 0 threads). On abort, when one thread fails, or when the caller has seen enough,
 * the others stop within a few thousand lines (a shared flag: a message would wait for their
 * loops to end).
 */

/**
 * The dataset's ids, chunk by chunk ({@link readChunkIds}), told to `onChunk` as they come (in
 * any order); `onChunk` returns false to stop the pass (the ids cannot be used).
 */
export async function readIdsOnThreads(file: string, chunks: readonly FileChunk[], threads: number, onChunk: (ids: ChunkIds) => boolean, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  const next = new Int32Array(new SharedArrayBuffer(4));
  if (threads === 0) {
    const enough = new Error('enough');
    try {
      readChunkIds(file, chunks, next, (ids) => {
        if (!onChunk(ids)) throw enough;
      }, signal);
    } catch (err) {
      if (err !== enough) throw err;
    }
    return;
  }
  await onThreads(threads, () => ({ kind: 'ids', file, chunks, next }), (reply: { ids?: ChunkIds }) => (reply.ids ? onChunk(reply.ids) : true), signal);
}

/** The result pass ({@link joinResultChunks}): the counts of all the threads. */
export async function joinResultsOnThreads(job: Omit<TableJoinJob, 'worker' | 'next'>, threads: number, signal?: AbortSignal): Promise<TableJoinCounts> {
  signal?.throwIfAborted();
  const next = new Int32Array(new SharedArrayBuffer(4));
  if (threads === 0) return joinResultChunks({ ...job, worker: 0, next }, signal);
  const counts: TableJoinCounts = { bad: 0, unmatched: 0, outcomes: 0 };
  await onThreads(
    threads,
    (worker) => ({ kind: 'results', job: { ...job, worker, next } }),
    (reply: { counts?: TableJoinCounts }) => {
      if (reply.counts) {
        counts.bad += reply.counts.bad;
        counts.unmatched += reply.counts.unmatched;
        counts.outcomes += reply.counts.outcomes;
      }
      return true;
    },
    signal,
  );
  return counts;
}

/**
 * Runs `threads` workers on the jobs `jobOf` gives, each posting messages to `onMessage` until its
 * last one ({done} or {counts}). `onMessage` returning false stops them all, and is no failure.
 */
async function onThreads<M extends object>(threads: number, jobOf: (worker: number) => object, onMessage: (reply: M) => boolean, signal?: AbortSignal): Promise<void> {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const onAbort = () => Atomics.store(stop, 0, 1);
  signal?.addEventListener('abort', onAbort, { once: true });
  const workers: Worker[] = [];
  // The first failure is the cause: the others then stop because of it.
  let first: unknown = null;
  let enough = false;
  try {
    const runs = Array.from({ length: threads }, (_, worker) => {
      // A small young generation: a thread's garbage is per line and short-lived, and each MB of it is resident.
      const w = new Worker(workerUrl(), { workerData: { job: jobOf(worker), stop }, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
      workers.push(w);
      return new Promise<void>((resolve, reject) => {
        w.on('message', (reply: M & { done?: boolean; counts?: unknown; error?: string; aborted?: boolean }) => {
          if (reply.aborted) return enough ? resolve() : reject(signal?.reason ?? new Error('aborted'));
          if (reply.error !== undefined) return reject(new Error(`merge thread: ${reply.error}`));
          if (!onMessage(reply)) {
            enough = true;
            Atomics.store(stop, 0, 1);
          }
          if (reply.done || reply.counts) resolve();
        });
        w.once('error', reject);
        w.once('exit', (code) => reject(new Error(`merge thread exited (${code}) without an answer`)));
      }).catch((err: unknown) => {
        // One fails: the others stop too.
        first ??= err;
        Atomics.store(stop, 0, 1);
        throw err;
      });
    });
    const settled = await Promise.allSettled(runs);
    if (settled.some((s) => s.status === 'rejected')) throw signal?.aborted ? signal.reason : first;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** The compiled worker: beside this file once built; from the sources (tests), the built copy. */
function workerUrl(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('../../../dist/src/core/join/table-join-worker.js', import.meta.url) : new URL('./table-join-worker.js', import.meta.url);
}
