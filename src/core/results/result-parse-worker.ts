// A parse thread of the merge (see result-parse-pool.ts): framed result lines in, outcome lines
// out. Messages: {id, buffer, length, spare?} -> {id, buffer, length, bad, input}: every buffer
// is transferred, and the input and the spare come back, so that no batch memory is left to the
// garbage collector of either thread (it let hundreds of dead 1 MiB batches pile up).
import { parentPort, workerData } from 'node:worker_threads';
import { parseResultBatch } from './result-batch.js';
import { ResultScanner } from './result-scan.js';

const { sources, field } = workerData as { sources: string[]; field?: string };
const scanner = new ResultScanner(field);

parentPort!.on('message', ({ id, buffer, length, spare }: { id: number; buffer: ArrayBuffer; length: number; spare?: ArrayBuffer }) => {
  try {
    const { out, bad } = parseResultBatch(Buffer.from(buffer, 0, length), length, sources, field, spare ? Buffer.from(spare) : undefined, scanner);
    // `out` starts its own ArrayBuffer (`spare` or allocUnsafeSlow): the whole of it is transferred.
    parentPort!.postMessage({ id, buffer: out.buffer, length: out.length, bad, input: buffer }, [out.buffer as ArrayBuffer, buffer]);
  } catch (err) {
    parentPort!.postMessage({ id, error: (err as Error).stack ?? String(err) });
  }
});
