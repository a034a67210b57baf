import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

/**
 * A file written with synchronous calls through one staging buffer: many small pieces (a line's
 * head, a field, its tail) become one write per `chunkBytes`. For files we write in a tight loop
 * (sort runs, merged output), where a promise per piece would cost more than the write.
 */
export class SyncFileWriter {
  readonly #fd: number;
  readonly #stage: Buffer;
  #used = 0;
  #bytes = 0;
  #closed = false;
  /** The buffer written from last, and the stage's whole memory when that buffer is in it too (else null). */
  #source: Buffer | null = null;
  #sharedMemory: Uint8Array | null = null;

  /** `stage`: the staging buffer to use (one reused from file to file), else one of `chunkBytes` is made. */
  constructor(file: string, options: { chunkBytes?: number; stage?: Buffer } = {}) {
    this.#fd = openSync(file, 'w');
    this.#stage = options.stage ?? Buffer.allocUnsafeSlow(options.chunkBytes ?? 1 << 20);
  }

  /** Bytes written so far (staged ones included). */
  get bytes(): number {
    return this.#bytes;
  }

  write(buf: Buffer, start = 0, end = buf.length): void {
    const length = end - start;
    this.#bytes += length;
    if (this.#used + length > this.#stage.length) {
      this.flush();
      // Larger than the stage: straight to the file.
      if (length > this.#stage.length) {
        writeFully(this.#fd, buf, start, end);
        return;
      }
    }
    if (buf !== this.#source) this.#sourceIs(buf);
    if (this.#sharedMemory !== null && length >= 32) {
      // Within one ArrayBuffer: copied with no view made (a sort run's entries, from its arena).
      this.#sharedMemory.copyWithin(this.#stage.byteOffset + this.#used, buf.byteOffset + start, buf.byteOffset + end);
      this.#used += length;
    } else this.#used = copyBytes(buf, start, end, this.#stage, this.#used);
  }

  #sourceIs(buf: Buffer): void {
    this.#source = buf;
    this.#sharedMemory = buf.buffer === this.#stage.buffer ? new Uint8Array(buf.buffer) : null;
  }

  writeString(text: string): void {
    if (this.#used + text.length * 3 > this.#stage.length) this.flush();
    if (text.length * 3 > this.#stage.length) {
      const bytes = Buffer.from(text);
      this.#bytes += bytes.length;
      writeFully(this.#fd, bytes, 0, bytes.length);
      return;
    }
    const n = this.#stage.write(text, this.#used);
    this.#used += n;
    this.#bytes += n;
  }

  flush(): void {
    if (this.#used > 0) writeFully(this.#fd, this.#stage, 0, this.#used);
    this.#used = 0;
  }

  /** Writes what is staged and closes; with `sync`, makes the file durable first (fsync). */
  close(options: { sync?: boolean } = {}): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.flush();
      if (options.sync) fsyncSync(this.#fd);
    } finally {
      closeSync(this.#fd);
    }
  }

  /** Closes without writing what is staged (the file is being thrown away). */
  abandon(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }
}

function writeFully(fd: number, buf: Buffer, start: number, end: number): void {
  // writeSync may write less than asked (a signal, a pipe): the rest follows.
  for (let at = start; at < end; ) at += writeSync(fd, buf, at, end - at);
}

/**
 * Copies `src[start, end)` to `target[at]`; returns the end. Short pieces (separators, a line's
 * head) by hand: `Buffer#copy` makes a view for a part of a buffer, which costs more than such a
 * copy below some tens of bytes.
 */
export function copyBytes(src: Buffer, start: number, end: number, target: Buffer, at: number): number {
  if (end - start >= 32) return at + src.copy(target, at, start, end);
  for (let i = start; i < end; i++) target[at++] = src[i]!;
  return at;
}
