// The run reader thread (see run-reader-thread.ts): a sorter's spilled runs merged in key order,
// each call filling one batch of entries; the runs are left for the calling thread to remove.
import { workerData } from 'node:worker_threads';
import { serveCalls } from '../threads/serve-calls.js';
import { EntryBatch, fillEntryBatch, transferList } from './entry-batch.js';
import { RunSorter } from './run-sorter.js';
import type { RunReadCall, RunReadReply, RunReaderData } from './run-reader-thread.js';

const { spilled, fanIn, entries, bytes } = workerData as RunReaderData;
// Nothing is added: no arena is ever made (only the staging buffer of merges in passes).
const sorter = RunSorter.attach(spilled, { memoryBytes: 1 << 20, fanIn });
const sorted = sorter.sorted();
let done = false;

serveCalls(({ parts }: RunReadCall) => {
  const batch = parts ? new EntryBatch({ parts }) : new EntryBatch({ entries, bytes });
  batch.clear();
  if (!done) done = fillEntryBatch(batch, sorted);
  const out = batch.parts();
  return { reply: { parts: out, done } satisfies RunReadReply, transfer: transferList(out) };
});
