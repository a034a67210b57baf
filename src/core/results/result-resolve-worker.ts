// A result thread of the merge (see result-resolve-pool.ts): pointers to result lines in (the
// thread reads the lines), outcome lines out. Every buffer is transferred, and the input and the spare come back, so that no batch
// memory is left to the garbage collector of either thread (it let hundreds of dead 1 MiB batches
// pile up).
import { workerData } from 'node:worker_threads';
import { serveCalls } from '../threads/serve-calls.js';
import { ResultResolver } from './result-resolver.js';
import type { ResolveMessage, ResolveReply } from './result-resolve-pool.js';

const { sources, field } = workerData as { sources: string[]; field?: string };
const resolver = new ResultResolver({ sources, ...(field !== undefined ? { field } : {}) });

serveCalls(({ buffer, length, spare }: ResolveMessage) => {
  const { out, bad } = resolver.resolve(Buffer.from(buffer, 0, length), length, spare ? Buffer.from(spare) : undefined);
  // `out` starts its own ArrayBuffer (`spare` or allocUnsafeSlow): the whole of it is transferred.
  const reply: ResolveReply = { buffer: out.buffer as ArrayBuffer, length: out.length, bad, input: buffer };
  return { reply, transfer: [out.buffer as ArrayBuffer, buffer] };
});
