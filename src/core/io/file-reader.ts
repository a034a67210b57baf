import { Worker } from 'node:worker_threads';
import { readWholeFile } from '../read-whole-file.js';

/** A whole file read by a reader thread, or why it could not be. */
export type FileReadResult =
  | { ok: true; data: Buffer }
  | { ok: false; code: string; message: string; size?: number };

/**
 * Reads a whole file on the calling thread with synchronous syscalls: the cheapest way on local
 * disks and the page cache (no thread hand-off), but each read blocks the event loop meanwhile.
 */
export function readFileHere(path: string, maxBytes: number): FileReadResult {
  const result = readWholeFile(path, maxBytes, (size) => Buffer.allocUnsafe(size));
  if ('data' in result) return { ok: true, data: result.data as Buffer };
  return { ok: false, code: result.error.code, message: result.error.message, ...(result.size === undefined ? {} : { size: result.size }) };
}

/**
 * A pool of file reader threads (`file-reader-worker.js`). Each reads one file at a time with
 * synchronous syscalls, so `threads` is the I/O parallelism: raise it for network or spinning
 * storage, where each open waits milliseconds. Requests go to the thread with the fewest pending.
 */
export class FileReaderPool {
  readonly #threads: Array<{ worker: Worker; pending: number }> = [];
  readonly #waiting = new Map<number, { resolve: (r: FileReadResult) => void; reject: (e: Error) => void; thread: { pending: number } }>();
  #nextId = 0;
  #failure: Error | null = null;

  constructor(threads: number) {
    for (let i = 0; i < threads; i++) {
      // The thread allocates little: a small young generation keeps its heap near its floor.
      const worker = new Worker(new URL('./file-reader-worker.js', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 4 } });
      const thread = { worker, pending: 0 };
      worker.on('message', (reply: { id: number; buffer?: ArrayBuffer; size?: number; error?: { code: string; message: string } }) => {
        const waiter = this.#waiting.get(reply.id);
        if (!waiter) return;
        this.#waiting.delete(reply.id);
        waiter.thread.pending--;
        if (reply.buffer) waiter.resolve({ ok: true, data: Buffer.from(reply.buffer) });
        else waiter.resolve({ ok: false, code: reply.error!.code, message: reply.error!.message, ...(reply.size === undefined ? {} : { size: reply.size }) });
      });
      const fail = (err: Error) => {
        this.#failure ??= err;
        for (const w of this.#waiting.values()) w.reject(err);
        this.#waiting.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`file reader thread exited (${code})`)));
      this.#threads.push(thread);
    }
  }

  read(path: string, maxBytes: number): Promise<FileReadResult> {
    if (this.#failure) return Promise.reject(this.#failure);
    let thread = this.#threads[0]!;
    for (const t of this.#threads) if (t.pending < thread.pending) thread = t;
    const id = this.#nextId++;
    thread.pending++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject, thread });
      thread.worker.postMessage({ id, path, maxBytes });
    });
  }

  /** Stops the threads; reads still waiting are rejected. */
  async close(): Promise<void> {
    this.#failure ??= new Error('file reader pool closed');
    await Promise.all(
      this.#threads.map((t) => {
        t.worker.removeAllListeners('exit');
        return t.worker.terminate();
      }),
    );
    for (const w of this.#waiting.values()) w.reject(this.#failure);
    this.#waiting.clear();
  }
}
