// A thread of the merge's join by table (see table-join.ts): takes result chunks until none are
// left, writes its buckets. One message back: {counts}, {error} or {aborted}.
import { parentPort, workerData } from 'node:worker_threads';
import { joinResultChunks, type TableJoinJob } from './table-join.js';

const { job, stop } = workerData as { job: TableJoinJob; stop: Int32Array };

class Stopped extends Error {}
const flag = {
  throwIfAborted: () => {
    if (Atomics.load(stop, 0) !== 0) throw new Stopped('aborted');
  },
};

try {
  parentPort!.postMessage({ counts: joinResultChunks(job, flag) });
} catch (err) {
  parentPort!.postMessage(err instanceof Stopped ? { aborted: true } : { error: (err as Error).stack ?? String(err) });
}
