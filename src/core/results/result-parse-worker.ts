// A parse thread of the merge (see result-parse-pool.ts): framed result lines in, outcome lines
// out. Every buffer is transferred, and the input and the spare come back, so that no batch
// memory is left to the garbage collector of either thread (it let hundreds of dead 1 MiB batches
// pile up).
import { workerData } from 'node:worker_threads';
import { serveCalls } from '../threads/serve-calls.js';
import { parseResultBatch } from './result-batch.js';
import { ResultScanner } from './result-scan.js';
import type { ParseMessage, ParseReply } from './result-parse-pool.js';

const { sources, field } = workerData as { sources: string[]; field?: string };
const scanner = new ResultScanner(field);

serveCalls(({ buffer, length, spare }: ParseMessage) => {
  const { out, bad } = parseResultBatch(Buffer.from(buffer, 0, length), length, sources, field, spare ? Buffer.from(spare) : undefined, scanner);
  // `out` starts its own ArrayBuffer (`spare` or allocUnsafeSlow): the whole of it is transferred.
  const reply: ParseReply = { buffer: out.buffer as ArrayBuffer, length: out.length, bad, input: buffer };
  return { reply, transfer: [out.buffer as ArrayBuffer, buffer] };
});
