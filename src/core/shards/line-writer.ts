import type { DataUri } from '../../types.js';
import type { ShardTarget } from './shard-file.js';

/**
 * Serialises request lines into fixed chunk buffers and hands full chunks to a shard target. No
 * line is ever held whole: a 30 MB image goes out in 48 KB base64 slices. A few chunk buffers
 * circulate, so lines are serialised while earlier chunks are being hashed and written.
 */

/** 1 MiB: one write per ~5 images, and few messages to the writer thread. */
export const DEFAULT_CHUNK_BYTES = 1 << 20;
/** Chunks in circulation: one being filled, the others queued or being written. */
export const DEFAULT_CHUNK_COUNT = 4;

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

export class LineWriter {
  readonly #chunkBytes: number;
  readonly #free: Buffer[] = [];
  #current: Buffer;
  #used = 0;
  /** Writes in flight, oldest first; each gives back a buffer to reuse. */
  #inflight: Array<Promise<Buffer>> = [];
  #target: ShardTarget | null = null;

  constructor(chunkBytes: number = DEFAULT_CHUNK_BYTES, chunkCount: number = DEFAULT_CHUNK_COUNT) {
    this.#chunkBytes = Math.max(chunkBytes, BASE64_SLICE_CHARS * 2);
    for (let i = 0; i < Math.max(2, chunkCount); i++) this.#free.push(Buffer.allocUnsafeSlow(this.#chunkBytes));
    this.#current = this.#free.pop()!;
  }

  /** Starts a new output (a shard). */
  start(target: ShardTarget): void {
    this.#target = target;
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

  /** Flushes what is left, waits for every write, and returns what the target received. */
  async finish(): Promise<{ bytes: number; sha256: string }> {
    await this.#flush();
    await this.#settle();
    const result = await this.#target!.finish();
    this.#target = null;
    return result;
  }

  /** Drops what is buffered and waits for writes in flight, so no buffer is reused mid-write. */
  async abandon(): Promise<void> {
    this.#used = 0;
    this.#target = null;
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
    // Longer than a chunk (a text of many MB): one copy, written on its own and waited for, so
    // such copies never pile up.
    this.#send(Buffer.from(s, 'utf8'));
    await this.#settle();
  }

  async #writeBase64(data: Buffer): Promise<void> {
    for (let start = 0; start < data.length; start += BASE64_SLICE_BYTES) {
      if (this.#current.length - this.#used < BASE64_SLICE_CHARS) await this.#flush();
      const end = Math.min(start + BASE64_SLICE_BYTES, data.length);
      this.#used += this.#current.write(data.toString('base64', start, end), this.#used, 'latin1');
    }
  }

  /** Sends the current chunk and takes a free buffer, waiting for the oldest write if none is free. */
  async #flush(): Promise<void> {
    if (this.#used === 0) return;
    this.#send(this.#current.subarray(0, this.#used));
    this.#used = 0;
    while (this.#free.length === 0) {
      const oldest = this.#inflight.shift();
      // Nothing in flight to wait for (a failed write kept its buffer): take a new one.
      if (!oldest) this.#free.push(Buffer.allocUnsafeSlow(this.#chunkBytes));
      else this.#reclaim(await oldest);
    }
    this.#current = this.#free.pop()!;
  }

  #send(chunk: Buffer): void {
    if (!this.#target) throw new Error('LineWriter: start() was not called');
    const pending = this.#target.write(chunk);
    // Awaited in order by #flush or #settle; this only keeps a rejection from being unhandled meanwhile.
    pending.catch(() => {});
    this.#inflight.push(pending);
  }

  /** Keeps a buffer handed back if it is one of ours (a chunk-sized buffer). */
  #reclaim(buffer: Buffer): void {
    if (buffer.length === this.#chunkBytes) this.#free.push(buffer);
  }

  async #settle(): Promise<void> {
    const pending = this.#inflight;
    this.#inflight = [];
    let failure: unknown;
    for (const p of pending) {
      try {
        this.#reclaim(await p);
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure) throw failure;
  }
}
