// Chunks of run lines, the form in which the merge's stages hand each other millions of sort entries a block at a time.
import { readDecimal, writeDecimal } from '../io/decimal.js';
import { copyBytes } from '../io/sync-writer.js';
import type { RunSorter, SortedEntry } from './run-sorter.js';

/**
 * A block of whole run lines, `<key>\t<payload>\n`, the format of a sort's run files: numeric
 * keys (safe integers) in decimal, payloads without a newline. The merge's stages pass these
 * instead of one object per entry, so that a million entries cost a few hundred awaits, not a
 * million. Like the sort's entries, a chunk is valid until the next one is asked for: a receiver
 * that keeps one copies it.
 */
export type RunLines = Buffer;

/** 64 KiB: a few thousand entries per await, and still in the CPU's cache when read. */
export const RUN_LINES_BYTES = 64 << 10;

/** Builds chunks of run lines in one reused buffer. */
export class RunLinesWriter {
  readonly #bytes: number;
  #buf: Buffer;
  #used = 0;

  constructor(chunkBytes = RUN_LINES_BYTES) {
    this.#bytes = chunkBytes;
    this.#buf = Buffer.allocUnsafeSlow(chunkBytes + 256);
  }

  /** At least `chunkBytes` are written: time to {@link take} them. */
  get full(): boolean {
    return this.#used >= this.#bytes;
  }

  get empty(): boolean {
    return this.#used === 0;
  }

  /** Appends the line `<key>\t<buf[start, end)>` (the payload holds no newline). */
  addBytes(key: number, buf: Buffer, start: number, end: number): void {
    const at = copyBytes(buf, start, end, this.#buf, this.#key(key, end - start + 1));
    this.#buf[at] = NEWLINE;
    this.#used = at + 1;
  }

  /** Appends the line `<key>\t<payload>`. */
  addText(key: number, payload: string): void {
    if (payload.includes('\n')) throw new Error('run lines: a payload holds a newline');
    const at = this.#key(key, Buffer.byteLength(payload) + 1);
    const end = at + this.#buf.write(payload, at, 'utf8');
    this.#buf[end] = NEWLINE;
    this.#used = end + 1;
  }

  /** Appends `buf[start, end)`, a whole line already (without its newline). */
  addLine(buf: Buffer, start: number, end: number): void {
    this.#room(end - start + 1);
    this.#used = copyBytes(buf, start, end, this.#buf, this.#used);
    this.#buf[this.#used++] = NEWLINE;
  }

  /** The lines written, as a chunk valid until the writer is written to again. */
  take(): RunLines {
    const chunk = this.#buf.subarray(0, this.#used);
    this.#used = 0;
    return chunk;
  }

  /** Writes `<key>\t` with room for `rest` bytes after it; returns where they go. */
  #key(key: number, rest: number): number {
    if (!Number.isSafeInteger(key)) throw new Error(`run lines: key ${key} is not a safe integer`);
    this.#room(18 + rest);
    let at = this.#used;
    if (key < 0) this.#buf[at++] = MINUS;
    at = writeDecimal(this.#buf, at, Math.abs(key));
    this.#buf[at++] = TAB;
    return at;
  }

  #room(bytes: number): void {
    if (this.#used + bytes <= this.#buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(2 * this.#buf.length, this.#used + bytes));
    this.#buf.copy(bigger, 0, 0, this.#used);
    this.#buf = bigger;
  }
}

/** The numeric key at the front of a run line, `buf[start, tab)`. */
export function runKeyAt(buf: Buffer, start: number, tab: number): number {
  return buf[start] === MINUS ? -readDecimal(buf, start + 1, tab) : readDecimal(buf, start, tab);
}

/**
 * The run line at `buf[start]`, read into `line`: its key, and where its tab and newline are.
 * The key's digits are read as they are scanned, and a short line is scanned here: a native
 * `indexOf` costs more than the few bytes of most merge entries.
 */
export function readRunLine(buf: Buffer, start: number, line: { key: number; tab: number; end: number }): void {
  let i = start;
  const negative = buf[i] === MINUS;
  if (negative) i++;
  let key = 0;
  for (let b = buf[i]!; b !== TAB; b = buf[++i]!) key = key * 10 + (b - 48);
  line.key = negative ? -key : key;
  line.tab = i;
  const stop = Math.min(buf.length, i + SHORT_LINE);
  for (i++; i < stop; i++) if (buf[i] === NEWLINE) return void (line.end = i);
  line.end = buf.indexOf(NEWLINE, i);
}

/** Bytes of a line scanned by hand before handing over to `indexOf`. */
const SHORT_LINE = 64;

/**
 * Reads the entries of a stream of run-line chunks, one view at a time, awaiting only between
 * chunks: `if (!cursor.step()) await cursor.load()` moves to the next entry. Starts before the
 * first entry: `await cursor.load()` first.
 */
export class RunLinesCursor {
  /** The current entry: its bytes are valid until the cursor moves. */
  readonly entry: SortedEntry = { key: 0, buf: EMPTY, start: 0, end: 0 };
  done = false;
  readonly #chunks: AsyncIterator<RunLines>;
  #chunk: Buffer = EMPTY;
  #at = 0;
  readonly #line = { key: 0, tab: 0, end: 0 };

  constructor(source: AsyncIterable<RunLines>) {
    this.#chunks = source[Symbol.asyncIterator]();
  }

  /** The current entry's key, or Infinity past the end (numeric keys only). */
  get key(): number {
    return this.done ? Infinity : (this.entry.key as number);
  }

  /** Moves to the next entry of the chunk at hand; false at its end (then {@link load}). */
  step(): boolean {
    const buf = this.#chunk;
    const at = this.#at;
    if (at >= buf.length) return false;
    const line = this.#line;
    readRunLine(buf, at, line);
    this.entry.key = line.key;
    this.entry.buf = buf;
    this.entry.start = line.tab + 1;
    this.entry.end = line.end;
    this.#at = line.end + 1;
    return true;
  }

  /** Moves to the first entry of the next chunk that has one, or past the end (`done`). */
  async load(): Promise<void> {
    for (;;) {
      const next = await this.#chunks.next();
      if (next.done) {
        this.done = true;
        return;
      }
      this.#chunk = next.value;
      this.#at = 0;
      if (this.step()) return;
    }
  }

  /** Lets the source go (it stops and cleans up when it is a stage). */
  async close(): Promise<void> {
    await this.#chunks.return?.();
  }
}

/** Adds every line of a chunk to a sorter with numeric keys. */
export function addRunLines(sorter: RunSorter, chunk: RunLines): void {
  const line = { key: 0, tab: 0, end: 0 };
  for (let at = 0; at < chunk.length; at = line.end + 1) {
    readRunLine(chunk, at, line);
    sorter.addLine(line.key, chunk, at, line.end);
  }
}

/** A sorter's entries in key order, as chunks of run lines (numeric keys, as the sorter wrote them). */
export function* sortedRunLines(sorter: RunSorter, chunkBytes = RUN_LINES_BYTES): Generator<RunLines> {
  const out = new RunLinesWriter(chunkBytes);
  for (const e of sorter.sorted()) {
    // The whole line as the sorter holds it, key and all: every line starts a buffer or follows a newline.
    let start = e.start - 1;
    while (start > 0 && e.buf[start - 1] !== NEWLINE) start--;
    out.addLine(e.buf, start, e.end);
    if (out.full) yield out.take();
  }
  if (!out.empty) yield out.take();
}

/** One key's entries of one side of a join, copied out of their chunk (whose views last until the next entry). */
export class EntryGroup {
  buf = Buffer.allocUnsafe(4096);
  starts: number[] = [];
  ends: number[] = [];
  count = 0;
  #used = 0;

  clear(): void {
    this.count = 0;
    this.#used = 0;
  }

  add(e: SortedEntry): void {
    const length = e.end - e.start;
    if (this.#used + length > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.#used + length));
      this.buf.copy(bigger, 0, 0, this.#used);
      this.buf = bigger;
    }
    copyBytes(e.buf, e.start, e.end, this.buf, this.#used);
    this.starts[this.count] = this.#used;
    this.#used += length;
    this.ends[this.count++] = this.#used;
  }

  map<T>(key: number, read: (e: SortedEntry) => T): T[] {
    return Array.from({ length: this.count }, (_, i) => read({ key, buf: this.buf, start: this.starts[i]!, end: this.ends[i]! }));
  }
}

const TAB = 9;
const NEWLINE = 10;
const MINUS = 45;
const EMPTY = Buffer.alloc(0);
