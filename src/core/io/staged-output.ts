import { once } from 'node:events';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { PARTIAL_SUFFIX } from '../shards/shard-file.js';
import { copyBytes, SyncFileWriter } from './sync-writer.js';

/**
 * Where a merge's rows go: pieces are staged in memory and handed on a large block at a time.
 * `write` never waits; when `full`, the caller awaits `drain` before writing more (a loop that
 * writes millions of pieces awaits once per block, not per piece).
 */
export interface StagedOutput {
  /** Stages `chunk[start, end)` (a copy: the chunk can be reused at once). */
  write(chunk: Buffer, start?: number, end?: number): void;
  readonly full: boolean;
  drain(): Promise<void>;
  /** Writes the rest and finishes (a file: made durable and renamed into place). */
  close(): Promise<void>;
  /** Throws away what was written (a file: its temporary name is removed). */
  discard(): Promise<void>;
}

/**
 * The last step of a pipeline of chunks that are valid until the next is asked for (the merge's
 * stages): each is copied into `out` as it comes, waiting only when `out` is full. `out` is left
 * open: close it (or discard it) once the pipeline is done.
 */
export function writeChunks(out: StagedOutput): (chunks: AsyncIterable<Buffer>, options?: { signal?: AbortSignal }) => Promise<void> {
  return async (chunks, { signal } = {}) => {
    for await (const chunk of chunks) {
      out.write(chunk);
      if (out.full) await out.drain();
      signal?.throwIfAborted();
    }
  };
}

const STAGE_BYTES = 1 << 20;
/** Stages a file output has being written at once, at most. */
const STAGES_WRITING = 4;

/** A growable staging buffer. */
class Stage {
  buf = Buffer.allocUnsafeSlow(STAGE_BYTES);
  used = 0;

  append(chunk: Buffer, start: number, end: number): void {
    if (this.used + end - start > this.buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.used + end - start));
      this.buf.copy(bigger, 0, 0, this.used);
      this.buf = bigger;
    }
    this.used = copyBytes(chunk, start, end, this.buf, this.used);
  }
}

/** A stream (stdout, or a caller's) written a staged block at a time, waiting for 'drain' when it asks. */
export class StreamOutput implements StagedOutput {
  readonly #stream: NodeJS.WritableStream;
  #stage = new Stage();

  constructor(stream: NodeJS.WritableStream) {
    this.#stream = stream;
  }

  get full(): boolean {
    return this.#stage.used >= STAGE_BYTES;
  }

  write(chunk: Buffer, start = 0, end = chunk.length): void {
    this.#stage.append(chunk, start, end);
  }

  async drain(): Promise<void> {
    if (this.#stage.used === 0) return;
    // The stream keeps the block: hand it over and start a new one.
    const block = this.#stage.buf.subarray(0, this.#stage.used);
    this.#stage = new Stage();
    if (!this.#stream.write(block)) await once(this.#stream as NodeJS.EventEmitter, 'drain');
  }

  async close(): Promise<void> {
    await this.drain();
  }

  async discard(): Promise<void> {}
}

/**
 * A file written under a temporary name and renamed into place once complete and durable: a
 * reader never sees half of it, and a crash leaves the last complete one. Stages take turns: one
 * fills while up to four full ones are written in order by the thread pool, so the copy into the
 * page cache overlaps the caller's work and its pauses do not stop it at once (1 MiB stages: a
 * larger block, out of the CPU's cache by the time it is written, cost the kernel more); and every
 * `syncEvery` bytes the data is flushed to disk in the background, so that closing does not wait
 * for the whole file at once.
 */
export class PartialFileOutput implements StagedOutput {
  readonly #file: string;
  readonly #syncEvery: number;
  #handle: Promise<FileHandle>;
  #stage = new Stage();
  /** Stages written in turn, oldest first (at most {@link STAGES_WRITING}), and stages free to fill. */
  readonly #writing: Array<{ stage: Stage; done: Promise<void>; settled: boolean }> = [];
  readonly #free: Stage[] = [];
  #last: Promise<void> = Promise.resolve();
  #position = 0;
  #syncing: Promise<void> | null = null;
  #unsynced = 0;
  #failure: unknown = null;

  constructor(file: string, options: { syncEvery?: number } = {}) {
    this.#file = file;
    this.#syncEvery = options.syncEvery ?? 256 * 1024 * 1024;
    this.#handle = open(file + PARTIAL_SUFFIX, 'w');
    // Failures surface at the next drain or close.
    this.#handle.catch(() => {});
  }

  get full(): boolean {
    return this.#stage.used >= STAGE_BYTES;
  }

  write(chunk: Buffer, start = 0, end = chunk.length): void {
    this.#stage.append(chunk, start, end);
  }

  /**
   * Hands the stage to the writes (one after the other, in order) and takes another to fill:
   * waits only when {@link STAGES_WRITING} are being written, so that a slow write (the page
   * cache's pauses) does not stop the caller at once.
   */
  async drain(): Promise<void> {
    if (this.#failure) throw this.#failure;
    if (this.#stage.used === 0) return;
    const stage = this.#stage;
    const position = this.#position;
    this.#position += stage.used;
    const entry = { stage, done: Promise.resolve(), settled: false };
    entry.done = this.#last
      .then(() => this.#writeBlock(stage.buf, stage.used, position))
      .catch((err: unknown) => void (this.#failure ??= err))
      .finally(() => void (entry.settled = true));
    this.#last = entry.done;
    this.#writing.push(entry);
    while (this.#writing[0]?.settled) this.#free.push(this.#writing.shift()!.stage);
    if (this.#free.length === 0 && this.#writing.length >= STAGES_WRITING) {
      const oldest = this.#writing.shift()!;
      await oldest.done;
      this.#free.push(oldest.stage);
    }
    this.#stage = this.#free.pop() ?? new Stage();
    this.#stage.used = 0;
    if (this.#failure) throw this.#failure;
  }

  async #writeBlock(buf: Buffer, length: number, position: number): Promise<void> {
    const handle = await this.#handle;
    for (let at = 0; at < length; ) at += (await handle.write(buf, at, length - at, position + at)).bytesWritten;
    this.#unsynced += length;
    if (this.#unsynced >= this.#syncEvery && !this.#syncing) {
      this.#unsynced = 0;
      this.#syncing = handle.datasync().then(
        () => void (this.#syncing = null),
        (err: unknown) => void (this.#failure ??= err),
      );
    }
  }

  async close(): Promise<void> {
    await this.drain();
    await this.#last;
    await this.#syncing;
    if (this.#failure) throw this.#failure;
    const handle = await this.#handle;
    await handle.sync();
    await handle.close();
    await rename(this.#file + PARTIAL_SUFFIX, this.#file);
  }

  async discard(): Promise<void> {
    await this.#last;
    await this.#syncing;
    await this.#handle.then((h) => h.close()).catch(() => {});
    await rm(this.#file + PARTIAL_SUFFIX, { force: true });
  }
}

/** A small file (the errors list) written synchronously under a temporary name, then made durable and renamed. */
export class PartialTextFile {
  readonly #file: string;
  readonly #writer: SyncFileWriter;

  constructor(file: string) {
    this.#file = file;
    this.#writer = new SyncFileWriter(file + PARTIAL_SUFFIX);
  }

  writeString(text: string): void {
    this.#writer.writeString(text);
  }

  async close(): Promise<void> {
    this.#writer.close({ sync: true });
    await rename(this.#file + PARTIAL_SUFFIX, this.#file);
  }

  async discard(): Promise<void> {
    this.#writer.abandon();
    await rm(this.#file + PARTIAL_SUFFIX, { force: true });
  }
}
