import { packageWorker, WorkerPool } from '../threads/worker-pool.js';
import { readWholeFile } from './read-whole-file.js';

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
  readonly #threads: WorkerPool<{ path: string; maxBytes: number }, { buffer?: ArrayBuffer; size?: number; error?: { code: string; message: string } }>;

  constructor(threads: number) {
    // The thread allocates little: a small young generation keeps its heap near its floor.
    this.#threads = new WorkerPool({ url: packageWorker('core/io/file-reader-worker.js'), threads, name: 'file reader' });
  }

  async read(path: string, maxBytes: number): Promise<FileReadResult> {
    const reply = await this.#threads.call({ path, maxBytes });
    if (reply.buffer) return { ok: true, data: Buffer.from(reply.buffer) };
    return { ok: false, code: reply.error!.code, message: reply.error!.message, ...(reply.size === undefined ? {} : { size: reply.size }) };
  }

  /** Stops the threads; reads still waiting are rejected. */
  close(): Promise<void> {
    return this.#threads.close();
  }
}
