// A worker for worker-pool.test.ts: echoes, throws, exits or waits, as asked.
import { threadId } from 'node:worker_threads';
import { serveCalls } from '../../../src/core/threads/serve-calls.js';

serveCalls((m) => {
  if (m.op === 'throw') throw new Error('asked to throw');
  if (m.op === 'exit') process.exit(3);
  if (m.op === 'wait') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, m.ms);
  if (m.op === 'transfer') {
    new Uint8Array(m.buffer)[0]++;
    return { reply: { buffer: m.buffer }, transfer: [m.buffer] };
  }
  return { reply: { value: m.value, threadId } };
});
