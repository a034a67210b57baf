import { createHash, type Hash } from 'node:crypto';
import type { DataUri } from '../types.js';

/**
 * Serialises request lines into fixed chunk buffers and hands full chunks to a sink. No line is
 * ever held whole: a 30 MB image goes out in 48 KB base64 slices.
 *
 * Two chunk buffers alternate, so one is filled while the other is being written.
 */

/** Receives a chunk; the chunk is reused once the promise resolves, so it must not be kept. */
export type ChunkSink = (chunk: Buffer) => Promise<void>;

/** 1 MiB: large enough that a write costs one syscall per ~4 images, small enough to stay flat. */
export const DEFAULT_CHUNK_BYTES = 1 << 20;

/**
 * 48,000 bytes: a multiple of 3, so slices join without padding, and its 64,000-character base64
 * string stays below V8's 128 KiB large-object threshold (above it, `toString('base64')` is ~50×
 * slower on our VMs: first-touch page faults of a fresh mmap per string).
 */
export const BASE64_SLICE_BYTES = 48_000;
const BASE64_SLICE_CHARS = (BASE64_SLICE_BYTES / 3) * 4;

export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/** `data:<mime>;base64,` */
export function dataUriPrefix(uri: DataUri): string {
  return `data:${uri.mime};base64,`;
}

export function dataUriByteLength(uri: DataUri): number {
  return dataUriPrefix(uri).length + base64Length(uri.data.length);
}

/** The whole data URI as one string: for tests and small images only. */
export function dataUriToString(uri: DataUri): string {
  return dataUriPrefix(uri) + uri.data.toString('base64');
}

export function isDataUri(segment: string | DataUri): segment is DataUri {
  return typeof segment !== 'string';
}

/** Joins the segments of a line into one string: for tests and small lines only. */
export function segmentsToString(segments: ReadonlyArray<string | DataUri>): string {
  return segments.map((s) => (isDataUri(s) ? dataUriToString(s) : s)).join('');
}

export interface LineWriterResult {
  bytes: number;
  sha256: string;
}

export class LineWriter {
  readonly #buffers: [Buffer, Buffer];
  #current: Buffer;
  #used = 0;
  #inflight: Promise<void> | null = null;
  #sink: ChunkSink | null = null;
  #hash: Hash | null = null;
  #bytes = 0;

  constructor(chunkBytes: number = DEFAULT_CHUNK_BYTES) {
    const size = Math.max(chunkBytes, BASE64_SLICE_CHARS * 2);
    this.#buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
    this.#current = this.#buffers[0];
  }

  /** Starts a new output (a shard): byte count and hash start from zero. */
  start(sink: ChunkSink): void {
    this.#sink = sink;
    this.#hash = createHash('sha256');
    this.#bytes = 0;
    this.#used = 0;
  }

  async writeLine(segments: ReadonlyArray<string | DataUri>): Promise<void> {
    for (const segment of segments) {
      if (isDataUri(segment)) {
        await this.#writeString(dataUriPrefix(segment));
        await this.#writeBase64(segment.data);
      } else {
        await this.#writeString(segment);
      }
    }
    await this.#writeString('\n');
  }

  /** Flushes what is left and waits for the sink. */
  async finish(): Promise<LineWriterResult> {
    await this.#flush();
    await this.#settle();
    const result = { bytes: this.#bytes, sha256: this.#hash!.digest('hex') };
    this.#sink = null;
    this.#hash = null;
    return result;
  }

  /** Drops what is buffered, waiting for a write in progress so its chunk is not reused mid-write. */
  async abandon(): Promise<void> {
    this.#used = 0;
    this.#sink = null;
    this.#hash = null;
    await this.#settle().catch(() => {});
  }

  async #writeString(s: string): Promise<void> {
    const free = this.#current.length - this.#used;
    // s.length * 3 bounds the UTF-8 length of a JS string; only long strings pay byteLength.
    if (s.length * 3 <= free) {
      this.#used += this.#current.write(s, this.#used, 'utf8');
      return;
    }
    const bytes = Buffer.byteLength(s);
    if (bytes > free) await this.#flush();
    if (bytes <= this.#current.length - this.#used) {
      this.#used += this.#current.write(s, this.#used, 'utf8');
      return;
    }
    // Longer than a chunk (a text of many MB): one copy, written on its own.
    await this.#emit(Buffer.from(s, 'utf8'));
  }

  async #writeBase64(data: Buffer): Promise<void> {
    for (let start = 0; start < data.length; start += BASE64_SLICE_BYTES) {
      if (this.#current.length - this.#used < BASE64_SLICE_CHARS) await this.#flush();
      const end = Math.min(start + BASE64_SLICE_BYTES, data.length);
      this.#used += this.#current.write(data.toString('base64', start, end), this.#used, 'latin1');
    }
  }

  async #flush(): Promise<void> {
    if (this.#used === 0) return;
    const chunk = this.#current.subarray(0, this.#used);
    this.#current = this.#current === this.#buffers[0] ? this.#buffers[1] : this.#buffers[0];
    this.#used = 0;
    await this.#emit(chunk);
  }

  /** Starts writing `chunk` once the previous write is done; returns without waiting for it. */
  async #emit(chunk: Buffer): Promise<void> {
    await this.#settle();
    if (!this.#sink) throw new Error('LineWriter: start() was not called');
    this.#hash!.update(chunk);
    this.#bytes += chunk.length;
    const pending = this.#sink(chunk);
    // Kept and awaited by the next emit or finish(); the catch only avoids an unhandled rejection meanwhile.
    pending.catch(() => {});
    this.#inflight = pending;
    // A chunk not owned by the two buffers (an oversized string) must not be reused: wait for it.
    if (chunk.buffer !== this.#buffers[0].buffer && chunk.buffer !== this.#buffers[1].buffer) await this.#settle();
  }

  async #settle(): Promise<void> {
    const pending = this.#inflight;
    this.#inflight = null;
    if (pending) await pending;
  }
}
