import { BatchExplainError } from '../../errors.js';

/**
 * The lines of a byte stream as Buffers of their own, with 1-based numbers: without the newline
 * (nor a `\r` before it, nor a UTF-8 BOM at the start), never decoded. For lines that go on as
 * bytes (direct mode sends a request line's body as it is): decoding a 185 kB line into a string
 * only makes a large heap object for the next full GC. `alloc` gives the Buffer each line is
 * copied into (a {@link BufferPool}'s `take`, to use buffers again). Memory: the read chunks of
 * the line being put together (at most `maxLineBytes`, else a coded error naming the line).
 */
export async function* lineBuffers(
  source: AsyncIterable<Buffer | string>,
  options: { name: string; maxLineBytes?: number; alloc?: (size: number) => Buffer },
): AsyncGenerator<{ line: number; buf: Buffer }> {
  const maxLineBytes = options.maxLineBytes ?? 256 * 1024 * 1024;
  const alloc = options.alloc ?? ((size: number) => Buffer.allocUnsafe(size));
  let parts: Buffer[] = [];
  let pending = 0;
  let line = 0;
  const finish = (last: Buffer): Buffer => {
    const whole = alloc(pending + last.length);
    let at = 0;
    for (const p of parts) at += p.copy(whole, at);
    last.copy(whole, at);
    parts = [];
    pending = 0;
    line++;
    let end = whole.length;
    if (end > 0 && whole[end - 1] === CR) end--;
    const start = line === 1 && whole[0] === 0xef && whole[1] === 0xbb && whole[2] === 0xbf ? 3 : 0;
    return whole.subarray(start, end);
  };
  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let from = 0;
    for (let nl = bytes.indexOf(NL); nl !== -1; nl = bytes.indexOf(NL, from)) {
      if (pending + nl - from > maxLineBytes) throw tooLong(options.name, line + 1, maxLineBytes);
      const buf = finish(bytes.subarray(from, nl));
      yield { line, buf };
      from = nl + 1;
    }
    if (from < bytes.length) {
      pending += bytes.length - from;
      if (pending > maxLineBytes) throw tooLong(options.name, line + 1, maxLineBytes);
      parts.push(bytes.subarray(from));
    }
  }
  if (pending > 0) {
    const buf = finish(Buffer.alloc(0));
    yield { line, buf };
  }
}

/**
 * Buffers for request lines, used again once their request is answered. A Buffer a line,
 * allocated and dropped, left glibc's heap fragmented by the changing sizes (lines of 40–570 kB):
 * direct mode's peak RSS grew from 118 MB at 2,000 rows to 149 MB at 10,000. Buffers are
 * allocated in 64 KiB steps (at least 256 KiB); at most `keep` wait for reuse (the larger ones
 * kept), none over `largest` bytes (a rare huge line is not held for the rest of the run).
 */
export class BufferPool {
  readonly #free: Buffer[] = [];
  readonly #owned = new WeakSet<ArrayBufferLike>();
  readonly #keep: number;
  readonly #largest: number;

  constructor(keep: number, largest = 8 * 1024 * 1024) {
    this.#keep = keep;
    this.#largest = largest;
  }

  /** A Buffer of `size` bytes (a view of a pooled one). */
  take(size: number): Buffer {
    const i = this.#free.findIndex((b) => b.length >= size);
    let buf: Buffer;
    if (i === -1) {
      buf = Buffer.allocUnsafeSlow(Math.max(MIN_BYTES, Math.ceil(size / STEP_BYTES) * STEP_BYTES));
      this.#owned.add(buf.buffer);
    } else buf = this.#free.splice(i, 1)[0]!;
    return buf.subarray(0, size);
  }

  /** Gives back a Buffer from {@link take} (any view of it); other Buffers are ignored. Use nothing of it after. */
  give(view: Buffer): void {
    const ab = view.buffer;
    if (!this.#owned.has(ab) || ab.byteLength > this.#largest || this.#free.some((b) => b.buffer === ab)) return;
    const whole = Buffer.from(ab);
    if (this.#free.length >= this.#keep) {
      // Full: keep the larger (the smallest is first).
      if (this.#free[0]!.length >= whole.length) return;
      this.#free.shift();
    }
    const at = this.#free.findIndex((b) => b.length >= whole.length);
    this.#free.splice(at === -1 ? this.#free.length : at, 0, whole);
  }

  /** Buffers waiting for reuse. */
  get size(): number {
    return this.#free.length;
  }
}

const MIN_BYTES = 256 * 1024;
const STEP_BYTES = 64 * 1024;
const NL = 0x0a;
const CR = 0x0d;

function tooLong(name: string, line: number, maxLineBytes: number): Error {
  return new BatchExplainError('E_LINE_TOO_LONG', `${name}: line ${line} is longer than ${maxLineBytes} bytes (is it JSONL?)`);
}
