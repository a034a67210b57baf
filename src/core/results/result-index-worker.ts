// The result index thread of the merge (see result-index-thread.ts): result files in, sorted runs
// of join entries out. One message back: {runs, bad}, {error} or {aborted}.
import { parentPort, workerData } from 'node:worker_threads';
import type { ResultSource } from './result-line.js';
import { hashBytes } from '../json/id-key.js';
import { addResultKeys } from '../join/join-keys.js';
import { RunSorter } from '../sort/run-sorter.js';

const { sources, tmpDir, memoryBytes, stop } = workerData as { sources: ResultSource[]; tmpDir?: string; memoryBytes: number; stop: Int32Array };

class Stopped extends Error {}
const flag = { throwIfAborted: () => {
  if (Atomics.load(stop, 0) !== 0) throw new Stopped('aborted');
} };

const sorter = new RunSorter({ memoryBytes, ...(tmpDir ? { tmpDir } : {}) });
try {
  const bad = addResultKeys(sources, sorter, hashBytes, flag);
  sorter.flush();
  parentPort!.postMessage({ runs: sorter.detach(), bad });
} catch (err) {
  sorter.dispose();
  parentPort!.postMessage(err instanceof Stopped ? { aborted: true } : { error: (err as Error).stack ?? String(err) });
}
