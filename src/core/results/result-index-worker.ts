// The result index thread of the merge (see result-index-thread.ts): result files in, sorted runs
// of join entries out, handed over as files ({runs, bad}), or {aborted} once the stop flag is raised.
import { workerData } from 'node:worker_threads';
import { serveCalls } from '../threads/serve-calls.js';
import { hashBytes } from '../json/id-key.js';
import { addResultKeys } from '../join/join-keys.js';
import { RunSorter } from '../sort/run-sorter.js';
import type { IndexMessage, IndexReply } from './result-index-thread.js';

const { stop } = workerData as { stop: Int32Array };

class Stopped extends Error {}
const flag = {
  throwIfAborted: () => {
    if (Atomics.load(stop, 0) !== 0) throw new Stopped('aborted');
  },
};

serveCalls(({ sources, memoryBytes, tmpDir }: IndexMessage) => {
  const sorter = new RunSorter({ memoryBytes, ...(tmpDir ? { tmpDir } : {}) });
  try {
    const bad = addResultKeys(sources, sorter, hashBytes, flag);
    sorter.flush();
    const reply: IndexReply = { runs: sorter.detach(), bad };
    return { reply };
  } catch (err) {
    sorter.dispose();
    if (err instanceof Stopped) return { reply: { aborted: true } satisfies IndexReply };
    throw err;
  }
});
