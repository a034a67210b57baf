import { Worker } from 'node:worker_threads';
import { joinResultChunks, type TableJoinCounts, type TableJoinJob } from './table-join.js';

/**
 * Runs the join by table's result pass ({@link joinResultChunks}) on `threads` threads of their
 * own, sharing the chunks; with 0 threads, on the calling thread. Returns the counts of all of
 * them. On abort, or when one fails, the others stop within a few thousand lines (a shared flag:
 * a message would wait for their loops to end).
 */
export async function joinResultsOnThreads(job: Omit<TableJoinJob, 'worker' | 'next'>, threads: number, signal?: AbortSignal): Promise<TableJoinCounts> {
  signal?.throwIfAborted();
  const next = new Int32Array(new SharedArrayBuffer(4));
  if (threads === 0) return joinResultChunks({ ...job, worker: 0, next }, signal);
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const onAbort = () => Atomics.store(stop, 0, 1);
  signal?.addEventListener('abort', onAbort, { once: true });
  const workers: Worker[] = [];
  // The first failure is the cause: the others then stop because of it.
  let first: unknown = null;
  try {
    const runs = Array.from({ length: threads }, (_, worker) => {
      // A small young generation: a thread's garbage is per line and short-lived, and each MB of it is resident.
      const w = new Worker(workerUrl(), { workerData: { job: { ...job, worker, next }, stop }, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
      workers.push(w);
      return new Promise<TableJoinCounts>((resolve, reject) => {
        w.once('message', (reply: { counts?: TableJoinCounts; error?: string; aborted?: boolean }) => {
          if (reply.aborted) reject(signal?.reason ?? new Error('aborted'));
          else if (reply.error !== undefined) reject(new Error(`result join thread: ${reply.error}`));
          else resolve(reply.counts!);
        });
        w.once('error', reject);
        w.once('exit', (code) => reject(new Error(`result join thread exited (${code}) without an answer`)));
      }).catch((err: unknown) => {
        // One fails: the others stop too.
        first ??= err;
        Atomics.store(stop, 0, 1);
        throw err;
      });
    });
    const settled = await Promise.allSettled(runs);
    if (settled.some((s) => s.status === 'rejected')) throw signal?.aborted ? signal.reason : first;
    const counts: TableJoinCounts = { bad: 0, unmatched: 0, outcomes: 0 };
    for (const s of settled as Array<PromiseFulfilledResult<TableJoinCounts>>) {
      counts.bad += s.value.bad;
      counts.unmatched += s.value.unmatched;
      counts.outcomes += s.value.outcomes;
    }
    return counts;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** The compiled worker: beside this file once built; from the sources (tests), the built copy. */
function workerUrl(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('../../dist/src/core/table-join-worker.js', import.meta.url) : new URL('./table-join-worker.js', import.meta.url);
}
