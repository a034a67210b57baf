import { Worker } from 'node:worker_threads';
import type { ResultSource } from './result-line.js';
import type { SpilledRuns } from '../sort/run-sorter.js';

export interface IndexedResults {
  runs: SpilledRuns;
  /** Lines that are not result lines. */
  bad: number;
}

/**
 * Indexes result files on a thread of its own ({@link addResultKeys} into a RunSorter), while the
 * calling thread reads the dataset's ids: the two scans are the first half of a merge, and they
 * do not depend on each other. The thread sorts in an arena of `memoryBytes` of its own (memory
 * a thread allocates is freed when it ends; shared memory would be freed at some garbage
 * collection, and copies into it are twice as slow) and hands its runs over. On abort it stops
 * within a few thousand lines and removes its runs.
 */
export async function indexResultsOnThread(sources: readonly ResultSource[], options: { memoryBytes: number; tmpDir?: string }, signal?: AbortSignal): Promise<IndexedResults> {
  signal?.throwIfAborted();
  // Raised on abort, read by the thread's loops (a message would wait for its loop to end).
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(workerUrl(), {
    workerData: { sources, tmpDir: options.tmpDir, memoryBytes: options.memoryBytes, stop },
    resourceLimits: { maxYoungGenerationSizeMb: 4 },
  });
  const onAbort = () => Atomics.store(stop, 0, 1);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await new Promise<IndexedResults>((resolve, reject) => {
      worker.once('message', (reply: { runs?: SpilledRuns; bad?: number; error?: string; aborted?: boolean }) => {
        if (reply.aborted) reject(signal?.reason ?? new Error('aborted'));
        else if (reply.error !== undefined) reject(new Error(`result index thread: ${reply.error}`));
        else resolve({ runs: reply.runs!, bad: reply.bad! });
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`result index thread exited (${code}) without an answer`)));
    });
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await worker.terminate();
  }
}

/** The compiled worker: beside this file once built; from the sources (tests), the built copy. */
function workerUrl(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('../../../dist/src/core/results/result-index-worker.js', import.meta.url) : new URL('./result-index-worker.js', import.meta.url);
}
