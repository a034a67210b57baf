// A parse thread of the merge (see result-parse-pool.ts): framed result lines in, outcome lines
// out. Messages: {id, buffer, length} -> {id, buffer, length, bad}; both buffers are transferred.
import { parentPort, workerData } from 'node:worker_threads';
import { parseResultBatch } from './result-batch.js';

const { sources, field } = workerData as { sources: string[]; field?: string };

parentPort!.on('message', ({ id, buffer, length }: { id: number; buffer: ArrayBuffer; length: number }) => {
  try {
    const { out, bad } = parseResultBatch(Buffer.from(buffer, 0, length), length, sources, field);
    // `out` starts its own ArrayBuffer (allocUnsafeSlow): the whole of it is transferred.
    parentPort!.postMessage({ id, buffer: out.buffer, length: out.length, bad }, [out.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort!.postMessage({ id, error: (err as Error).stack ?? String(err) });
  }
});
