import { packageWorker, WorkerPool } from '../threads/worker-pool.js';
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
  const thread = new WorkerPool<IndexMessage, IndexReply>({ url: packageWorker('core/results/result-index-worker.js'), threads: 1, workerData: { stop }, name: 'result index' });
  const onAbort = () => Atomics.store(stop, 0, 1);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const reply = await thread.call({ sources: [...sources], memoryBytes: options.memoryBytes, ...(options.tmpDir ? { tmpDir: options.tmpDir } : {}) });
    if ('aborted' in reply) throw signal?.reason ?? new Error('aborted');
    return reply;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await thread.close();
  }
}

/** The call of the index thread (result-index-worker.ts), and its reply. */
export interface IndexMessage {
  sources: ResultSource[];
  memoryBytes: number;
  tmpDir?: string;
}

export type IndexReply = IndexedResults | { aborted: true };
