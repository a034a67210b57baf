// The one way the project runs code on threads: a pool of workers answering calls, each call a
// message in and a reply out (transferred buffers, never copies), on the least busy thread.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../io/package-root.js';
import { Worker, type TransferListItem } from 'node:worker_threads';

export interface WorkerPoolOptions {
  /** The worker's file (its thread side calls `serveCalls` of serve-calls.js); for this package's own, {@link packageWorker}. */
  url: URL;
  threads: number;
  /** Given to every thread as `workerData` (a SharedArrayBuffer in it is shared, not copied). */
  workerData?: unknown;
  /** A thread's young generation, in MB: garbage per call is short-lived, and each MB of it is resident. Default 4. */
  youngGenerationMb?: number;
  /** For messages: `<name> thread exited (1)`. */
  name: string;
}

/**
 * Threads answering calls. A call goes to the thread with the fewest calls pending and resolves
 * with its reply; a reply with an error rejects that call; a thread that fails or exits fails
 * every call pending and every later one. {@link close} ends the threads, rejecting the calls
 * still waiting.
 */
export class WorkerPool<Message, Reply> {
  readonly #name: string;
  readonly #threads: Array<{ worker: Worker; pending: number }> = [];
  readonly #waiting = new Map<number, { resolve: (reply: Reply) => void; reject: (err: Error) => void; thread: { pending: number } }>();
  #nextId = 0;
  #failure: Error | null = null;

  constructor(options: WorkerPoolOptions) {
    this.#name = options.name;
    for (let i = 0; i < options.threads; i++) {
      const worker = new Worker(options.url, { ...(options.workerData === undefined ? {} : { workerData: options.workerData }), resourceLimits: { maxYoungGenerationSizeMb: options.youngGenerationMb ?? 4 } });
      const thread = { worker, pending: 0 };
      worker.on('message', (answer: { id: number; reply?: Reply; error?: string }) => {
        const waiter = this.#waiting.get(answer.id);
        if (!waiter) return;
        this.#waiting.delete(answer.id);
        waiter.thread.pending--;
        if (answer.error !== undefined) waiter.reject(new Error(`${this.#name} thread: ${answer.error}`));
        else waiter.resolve(answer.reply as Reply);
      });
      worker.on('error', (err) => this.#fail(err));
      worker.on('exit', (code) => this.#fail(new Error(`${this.#name} thread exited (${code})`)));
      this.#threads.push(thread);
    }
  }

  /** Threads in the pool. */
  get size(): number {
    return this.#threads.length;
  }

  /** Sends `message` (handing over the `transfer` list's buffers) to the least busy thread; resolves with its reply. */
  call(message: Message, transfer: TransferListItem[] = []): Promise<Reply> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#threads.length === 0) return Promise.reject(new Error(`${this.#name}: a pool of no threads`));
    let thread = this.#threads[0]!;
    for (const t of this.#threads) if (t.pending < thread.pending) thread = t;
    const id = this.#nextId++;
    thread.pending++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject, thread });
      thread.worker.postMessage({ id, message }, transfer);
    });
  }

  /** Ends the threads; calls still waiting are rejected. Safe to call more than once. */
  async close(): Promise<void> {
    this.#failure ??= new Error(`${this.#name}: closed`);
    await Promise.all(
      this.#threads.map((t) => {
        t.worker.removeAllListeners('exit');
        return t.worker.terminate();
      }),
    );
    this.#threads.length = 0;
    this.#fail(this.#failure);
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const w of this.#waiting.values()) w.reject(err);
    this.#waiting.clear();
  }
}

/**
 * A worker file of this package, by its path under `src/`: its compiled copy under `dist/src/`,
 * found from the package's root. Not next to the calling module: the CLI runs bundled (its
 * modules in one folder), and the test runner runs the TypeScript sources; both start the
 * compiled worker.
 */
export function packageWorker(relative: string): URL {
  return pathToFileURL(path.join(packageRoot(), 'dist', 'src', relative));
}
