import { Worker } from 'node:worker_threads';
import { parseResultBatch } from './result-batch.js';
import { ResultScanner } from './result-scan.js';

export interface ResultParsePoolOptions {
  /** Parse threads; 0 parses on the calling thread. */
  threads: number;
  /** Result file paths, by source index (for messages). */
  sources: readonly string[];
  /** The JSON field of the explanation in the answers. */
  field?: string;
  /** Size of the batches {@link ResultParsePool.batch} hands out. */
  batchBytes: number;
}

/**
 * Parses batches of framed result lines ({@link parseResultBatch}) on threads of their own:
 * parsing a million ~1 KB answers is most of a merge's work, and it splits cleanly. Batches are
 * transferred, never copied; the order of replies does not matter to the merge (it sorts them
 * by row). With 0 threads, batches are parsed on the calling thread.
 *
 * Batch memory goes round: batches come from {@link batch} and come back when parsed, outputs go
 * back with {@link recycle} and are sent out again as the next output. A merge uses a few
 * buffers per thread, however many millions of lines it parses.
 */
export class ResultParsePool {
  readonly #options: ResultParsePoolOptions;
  readonly #threads: Array<{ worker: Worker; pending: number }> = [];
  readonly #waiting = new Map<number, { resolve: (r: { out: Buffer; bad: number }) => void; reject: (e: Error) => void; thread: { pending: number } }>();
  #nextId = 0;
  #failure: Error | null = null;
  readonly #freeBatches: Buffer[] = [];
  readonly #freeOutputs: Buffer[] = [];
  /** For batches parsed on the calling thread. */
  #scanner: ResultScanner | null = null;

  constructor(options: ResultParsePoolOptions) {
    this.#options = options;
    for (let i = 0; i < options.threads; i++) {
      // A small young generation: a thread's garbage is per line and short-lived, and each MB of it is resident.
      const worker = new Worker(workerUrl(), { workerData: { sources: options.sources, field: options.field }, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
      const thread = { worker, pending: 0 };
      worker.on('message', (reply: { id: number; buffer?: ArrayBuffer; length?: number; bad?: number; input?: ArrayBuffer; error?: string }) => {
        const waiter = this.#waiting.get(reply.id);
        if (!waiter) return;
        this.#waiting.delete(reply.id);
        waiter.thread.pending--;
        if (reply.input) this.#giveBatch(Buffer.from(reply.input));
        if (reply.error) waiter.reject(new Error(`result parse thread: ${reply.error}`));
        else waiter.resolve({ out: Buffer.from(reply.buffer!, 0, reply.length), bad: reply.bad! });
      });
      const fail = (err: Error) => {
        this.#failure ??= err;
        for (const w of this.#waiting.values()) w.reject(err);
        this.#waiting.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`result parse thread exited (${code})`)));
      this.#threads.push(thread);
    }
  }

  /** Batches worth sending before waiting for one back: two per thread keeps each busy. */
  get capacity(): number {
    return Math.max(1, this.#threads.length * 2);
  }

  /** An empty batch of `batchBytes` to fill. */
  batch(): Buffer {
    return this.#freeBatches.pop() ?? Buffer.allocUnsafeSlow(this.#options.batchBytes);
  }

  /** Gives an output back once read, to be filled again. */
  recycle(out: Buffer): void {
    const whole = Buffer.from(out.buffer, 0, out.buffer.byteLength);
    if (this.#freeOutputs.length < this.capacity) this.#freeOutputs.push(whole);
  }

  #giveBatch(batch: Buffer): void {
    if (batch.length === this.#options.batchBytes && this.#freeBatches.length < this.capacity) this.#freeBatches.push(batch);
  }

  /** Parses `batch[0, length)`. The batch is handed over: do not touch it afterwards. */
  parse(batch: Buffer, length: number): Promise<{ out: Buffer; bad: number }> {
    if (this.#failure) return Promise.reject(this.#failure);
    const spare = this.#freeOutputs.pop();
    if (this.#threads.length === 0) {
      try {
        const parsed = parseResultBatch(batch, length, this.#options.sources, this.#options.field, spare, (this.#scanner ??= new ResultScanner(this.#options.field)));
        this.#giveBatch(batch);
        return Promise.resolve(parsed);
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    let thread = this.#threads[0]!;
    for (const t of this.#threads) if (t.pending < thread.pending) thread = t;
    const id = this.#nextId++;
    thread.pending++;
    // Only a buffer owning its whole memory can be transferred.
    const own = batch.byteOffset === 0 && batch.buffer.byteLength === batch.length ? batch : Buffer.from(new Uint8Array(batch.subarray(0, length)));
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject, thread });
      const transfer = [own.buffer as ArrayBuffer];
      if (spare) transfer.push(spare.buffer as ArrayBuffer);
      thread.worker.postMessage({ id, buffer: own.buffer, length, spare: spare?.buffer }, transfer);
    });
  }

  /** Ends the threads. Safe to call more than once. */
  async close(): Promise<void> {
    this.#failure ??= new Error('result parse pool closed');
    await Promise.all(
      this.#threads.map((t) => {
        t.worker.removeAllListeners('exit');
        return t.worker.terminate();
      }),
    );
    this.#threads.length = 0;
    this.#freeBatches.length = 0;
    this.#freeOutputs.length = 0;
    for (const w of this.#waiting.values()) w.reject(this.#failure);
    this.#waiting.clear();
  }
}

/** The compiled worker: beside this file once built; from the sources (tests), the built copy. */
function workerUrl(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('../../../dist/src/core/results/result-parse-worker.js', import.meta.url) : new URL('./result-parse-worker.js', import.meta.url);
}
