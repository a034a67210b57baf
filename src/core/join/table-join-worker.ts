// A thread of the merge's join by table (see table-join.ts, table-join-thread.ts): takes chunks
// until none are left. For the dataset's ids: a message {ids} per chunk (its arrays
// transferred), then {done}. For the results: its buckets written, then {counts}. Or {error},
// or {aborted}.
import { parentPort, workerData } from 'node:worker_threads';
import { joinResultChunks, readChunkIds, type FileChunk, type TableJoinJob } from './table-join.js';

type Job = { kind: 'ids'; file: string; chunks: FileChunk[]; next: Int32Array } | { kind: 'results'; job: TableJoinJob };
const { job, stop } = workerData as { job: Job; stop: Int32Array };

class Stopped extends Error {}
const flag = {
  throwIfAborted: () => {
    if (Atomics.load(stop, 0) !== 0) throw new Stopped('aborted');
  },
};

try {
  if (job.kind === 'ids') {
    readChunkIds(job.file, job.chunks, job.next, (ids) => parentPort!.postMessage({ ids }, [ids.keys.buffer, ids.checks.buffer, ids.rels.buffer] as ArrayBuffer[]), flag);
    parentPort!.postMessage({ done: true });
  } else parentPort!.postMessage({ counts: joinResultChunks(job.job, flag) });
} catch (err) {
  parentPort!.postMessage(err instanceof Stopped ? { aborted: true } : { error: (err as Error).stack ?? String(err) });
}
