// The hashing thread: sha256 of shard chunks, off the main thread. sha256 is the largest share of
// a build's CPU beside the kernel's own copy into the page cache (perf, bench/RESULTS.md); on its
// own thread it runs while the main thread serialises and writes the next chunk.
//
// Plain JavaScript on purpose: a worker loads its file with plain Node, also under the test
// runner, which only compiles what it imports itself. Calls (threads/worker-pool.ts):
//   {op:'update', key, buffer, length} -> {buffer}    the buffer is transferred back
//   {op:'digest', key}                 -> {sha256}    and forgets the key
import { createHash } from 'node:crypto';
import { serveCalls } from '../threads/serve-calls.js';

const hashes = new Map();

serveCalls((msg) => {
  if (msg.op === 'update') {
    let hash = hashes.get(msg.key);
    if (!hash) hashes.set(msg.key, (hash = createHash('sha256')));
    hash.update(new Uint8Array(msg.buffer, 0, msg.length));
    return { reply: { buffer: msg.buffer }, transfer: [msg.buffer] };
  }
  const hash = hashes.get(msg.key) ?? createHash('sha256');
  hashes.delete(msg.key);
  return { reply: { sha256: hash.digest('hex') } };
});
