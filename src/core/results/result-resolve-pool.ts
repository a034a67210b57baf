import { packageWorker, WorkerPool } from '../threads/worker-pool.js';
import { ResultResolver } from './result-resolver.js';

export interface ResultResolvePoolOptions {
  /** Threads; 0 resolves on the calling thread. */
  threads: number;
  /** Result file paths, by source index. */
  sources: readonly string[];
  /** The JSON field of the explanation in the answers. */
  field?: string;
  /** Size of the batches {@link ResultResolvePool.batch} hands out. */
  batchBytes: number;
}

/**
 * Resolves batches of pointers to result lines ({@link ResultResolver}: each thread reads and
 * parses the lines itself) on threads of their own: reading and parsing a million ~1 KB answers
 * is most of a merge's work, and it splits cleanly. Batches are transferred, never copied; the
 * order of replies does not matter to the merge (it sorts them by row). With 0 threads, batches
 * are resolved on the calling thread.
 *
 * Batch memory goes round: batches come from {@link batch} and come back when parsed, outputs go
 * back with {@link recycle} and are sent out again as the next output. A merge uses a few
 * buffers per thread, however many millions of lines it parses.
 */
export class ResultResolvePool {
  readonly #options: ResultResolvePoolOptions;
  readonly #threads: WorkerPool<ResolveMessage, ResolveReply> | null;
  #closed = false;
  readonly #freeBatches: Buffer[] = [];
  readonly #freeOutputs: Buffer[] = [];
  /** For batches resolved on the calling thread. */
  #local: ResultResolver | null = null;

  constructor(options: ResultResolvePoolOptions) {
    this.#options = options;
    // A small young generation: a thread's garbage is per line and short-lived, and each MB of it is resident.
    this.#threads = options.threads > 0 ? new WorkerPool({ url: packageWorker('core/results/result-resolve-worker.js'), threads: options.threads, workerData: { sources: options.sources, field: options.field }, name: 'result parse' }) : null;
  }

  /**
   * Batches worth sending before waiting for one back: enough to keep each thread busy while the
   * calling thread spills a sorted run of the outcomes (~20 ms, where a batch is ~1 ms of a
   * thread's work). With two per thread they stood idle during every spill: at 1M rows
   * step 4 took 3.6-3.8 s, with sixteen 3.1-3.2 s (bench/merge-steps.mjs), ~11 MB more at the peak.
   */
  get capacity(): number {
    const threads = this.#threads?.size ?? 0;
    // Bounded in all, however many threads: at most ~256 KiB of answers each.
    return threads === 0 ? 1 : Math.max(2 * threads, Math.min(BATCHES_PER_THREAD * threads, MAX_BATCHES));
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
    if (!this.#closed && batch.length === this.#options.batchBytes && this.#freeBatches.length < this.capacity) this.#freeBatches.push(batch);
  }

  /** Resolves the pointers of `batch[0, length)` into outcome lines. The batch is handed over: do not touch it afterwards. */
  async resolve(batch: Buffer, length: number): Promise<{ out: Buffer; bad: number }> {
    if (this.#closed) throw new Error('result resolve pool closed');
    const spare = this.#freeOutputs.pop();
    if (!this.#threads) {
      const parsed = (this.#local ??= new ResultResolver(this.#options)).resolve(batch, length, spare);
      this.#giveBatch(batch);
      return parsed;
    }
    // Only a buffer owning its whole memory can be transferred.
    const own = batch.byteOffset === 0 && batch.buffer.byteLength === batch.length ? batch : Buffer.from(new Uint8Array(batch.subarray(0, length)));
    const transfer = [own.buffer as ArrayBuffer];
    if (spare) transfer.push(spare.buffer as ArrayBuffer);
    const reply = await this.#threads.call({ buffer: own.buffer as ArrayBuffer, length, ...(spare ? { spare: spare.buffer as ArrayBuffer } : {}) }, transfer);
    this.#giveBatch(Buffer.from(reply.input));
    return { out: Buffer.from(reply.buffer, 0, reply.length), bad: reply.bad };
  }

  /** Ends the threads. Safe to call more than once. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#threads?.close();
    this.#freeBatches.length = 0;
    this.#freeOutputs.length = 0;
  }
}

const BATCHES_PER_THREAD = 16;
/** The most batches under way however many threads there are (~8 MiB of answers at most). */
const MAX_BATCHES = 32;

/** A call of the threads (result-resolve-worker.ts): every buffer is transferred, and the input and the spare come back. */
export interface ResolveMessage {
  buffer: ArrayBuffer;
  length: number;
  spare?: ArrayBuffer;
}

export interface ResolveReply {
  buffer: ArrayBuffer;
  length: number;
  bad: number;
  input: ArrayBuffer;
}
