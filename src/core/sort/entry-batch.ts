// Batches of sort entries, the form in which the merge's stages hand each other millions of entries.
import { copyBytes } from '../io/sync-writer.js';
import type { RunSorter, SortedEntry } from './run-sorter.js';

/**
 * A batch of sort entries: numeric keys (safe integers) and their payloads, views into one byte
 * buffer (payloads hold no newline: a sort spills them as lines). The merge's stages pass these
 * rather than one object per entry: a million entries cost a few hundred awaits, and no key is
 * written out and parsed back between stages. A stage refills its batch once the next is asked
 * for: a batch is valid until then, and a receiver that keeps one copies what it needs.
 */
export class EntryBatch {
  /** Entries held. */
  count = 0;
  keys: Float64Array;
  starts: Uint32Array;
  ends: Uint32Array;
  /** Where the payloads are: the batch's own buffer, or one it was pointed at ({@link over}). */
  bytes: Buffer;
  #own: Buffer;
  #used = 0;
  readonly #byteTarget: number;

  /** `parts`: a batch another thread handed over ({@link parts}), taken as it is. */
  constructor(options: { entries?: number; bytes?: number; parts?: EntryBatchParts } = {}) {
    const p = options.parts;
    const entries = p ? p.keys.length : (options.entries ?? BATCH_ENTRIES);
    this.#byteTarget = p ? p.byteTarget : (options.bytes ?? BATCH_BYTES);
    if (!Number.isSafeInteger(entries) || entries < 1 || !Number.isSafeInteger(this.#byteTarget) || this.#byteTarget < 1) throw new Error(`entry batch: expected at least 1 entry and 1 byte, got ${entries} and ${this.#byteTarget}`);
    this.keys = p ? p.keys : new Float64Array(entries);
    this.starts = p ? p.starts : new Uint32Array(entries);
    this.ends = p ? p.ends : new Uint32Array(entries);
    this.#own = this.bytes = p ? Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.length) : Buffer.allocUnsafeSlow(this.#byteTarget + 256);
    if (p) {
      this.count = p.count;
      this.#used = p.used;
    }
  }

  /**
   * The batch as plain arrays, each owning its memory, to hand to another thread (transfer
   * {@link transferList}) and take back with `new EntryBatch({ parts })`. Only a batch of copied
   * payloads (not one {@link over} another buffer). The batch is not to be used afterwards.
   */
  parts(): EntryBatchParts {
    if (this.bytes !== this.#own) throw new Error('entry batch: the parts of a batch over another buffer');
    return { count: this.count, used: this.#used, byteTarget: this.#byteTarget, keys: this.keys, starts: this.starts, ends: this.ends, bytes: this.#own };
  }

  /** As many entries or bytes as it takes: time to hand it on. */
  get full(): boolean {
    return this.count === this.keys.length || this.#used >= this.#byteTarget;
  }

  get empty(): boolean {
    return this.count === 0;
  }

  /** Appends an entry, its payload copied from `buf[start, end)`. */
  addBytes(key: number, buf: Buffer, start: number, end: number): void {
    this.#room(end - start + 1);
    const at = this.#used;
    this.#end(key, at, copyBytes(buf, start, end, this.bytes, at));
  }

  /** Appends an entry, its payload from text (no newline). */
  addText(key: number, payload: string): void {
    if (payload.includes('\n')) throw new Error('entry batch: a payload holds a newline');
    this.#room(Buffer.byteLength(payload) + 1);
    const at = this.#used;
    this.#end(key, at, at + this.bytes.write(payload, at, 'utf8'));
  }

  /** Points the batch at payloads that lie in `bytes` (added with {@link addView}), instead of copying them: a thread's output, read in place (each payload followed by a newline). */
  over(bytes: Buffer): void {
    this.clear();
    this.bytes = bytes;
  }

  /** Appends an entry whose payload is `bytes[start, end)` of the buffer given to {@link over} (not mixed with copied entries until {@link clear}). */
  addView(key: number, start: number, end: number): void {
    if (this.count === this.keys.length) this.#grow();
    this.#push(key, start, end);
  }

  /** Empties the batch (its own buffer is filled again). */
  clear(): void {
    this.count = 0;
    this.#used = 0;
    this.bytes = this.#own;
  }

  /**
   * Ends a copied payload with a newline, as a run line ends: a sorter checks that an entry holds
   * none with `indexOf`, which would otherwise scan on through the payloads after it.
   */
  #end(key: number, start: number, end: number): void {
    this.bytes[end] = NEWLINE;
    this.#used = end + 1;
    this.#push(key, start, end);
  }

  #push(key: number, start: number, end: number): void {
    if (!Number.isSafeInteger(key)) throw new Error(`entry batch: key ${key} is not a safe integer`);
    const i = this.count++;
    this.keys[i] = key;
    this.starts[i] = start;
    this.ends[i] = end;
  }

  /** Room for one more entry of `bytes` (a batch takes one entry however large). */
  #room(bytes: number): void {
    if (this.count === this.keys.length) this.#grow();
    if (this.#used + bytes <= this.bytes.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(2 * this.bytes.length, this.#used + bytes));
    this.bytes.copy(bigger, 0, 0, this.#used);
    this.#own = this.bytes = bigger;
  }

  #grow(): void {
    const n = 2 * this.keys.length;
    const keys = new Float64Array(n);
    const starts = new Uint32Array(n);
    const ends = new Uint32Array(n);
    keys.set(this.keys);
    starts.set(this.starts);
    ends.set(this.ends);
    this.keys = keys;
    this.starts = starts;
    this.ends = ends;
  }
}

/** An {@link EntryBatch} as plain arrays, to cross threads. */
export interface EntryBatchParts {
  count: number;
  used: number;
  byteTarget: number;
  keys: Float64Array;
  starts: Uint32Array;
  ends: Uint32Array;
  bytes: Uint8Array;
}

/** The memory of a batch's parts, to transfer with them. */
export function transferList(parts: EntryBatchParts): ArrayBuffer[] {
  return [parts.keys.buffer, parts.starts.buffer, parts.ends.buffer, parts.bytes.buffer] as ArrayBuffer[];
}

/** Entries per batch: 64 KiB of short entries (the join's), or fewer, longer ones (explanations) up to {@link BATCH_BYTES}. */
export const BATCH_ENTRIES = 2048;
/** 64 KiB of payloads: a few thousand entries per await, still in the CPU's cache when read. */
export const BATCH_BYTES = 64 << 10;

/**
 * Reads the entries of a stream of batches, one view at a time, awaiting only between batches:
 * `if (!cursor.step()) await cursor.load()` moves to the next entry. Starts before the first
 * entry: `await cursor.load()` first.
 */
export class EntryBatchCursor {
  /** The current entry: its bytes are valid until the cursor loads the next batch. */
  readonly entry: SortedEntry = { key: 0, buf: EMPTY, start: 0, end: 0 };
  done = false;
  readonly #batches: AsyncIterator<EntryBatch>;
  #batch: EntryBatch | null = null;
  #at = -1;

  constructor(source: AsyncIterable<EntryBatch>) {
    this.#batches = source[Symbol.asyncIterator]();
  }

  /** The current entry's key, or Infinity past the end. */
  get key(): number {
    return this.done ? Infinity : (this.entry.key as number);
  }

  /** Moves to the next entry of the batch at hand; false at its end (then {@link load}). */
  step(): boolean {
    const batch = this.#batch;
    if (batch === null || this.#at + 1 >= batch.count) return false;
    const i = ++this.#at;
    this.entry.key = batch.keys[i]!;
    this.entry.buf = batch.bytes;
    this.entry.start = batch.starts[i]!;
    this.entry.end = batch.ends[i]!;
    return true;
  }

  /** Moves to the first entry of the next batch that has one, or past the end (`done`). */
  async load(): Promise<void> {
    for (;;) {
      const next = await this.#batches.next();
      if (next.done) {
        this.done = true;
        return;
      }
      this.#batch = next.value;
      this.#at = -1;
      if (this.step()) return;
    }
  }

  /** Lets the source go (it stops and cleans up when it is a stage). */
  async close(): Promise<void> {
    await this.#batches.return?.();
  }
}

/** Adds every entry of a batch to a sorter. */
export function addEntryBatch(sorter: RunSorter, batch: EntryBatch): void {
  const { keys, starts, ends, bytes } = batch;
  for (let i = 0; i < batch.count; i++) sorter.addBytes(keys[i]!, bytes, starts[i]!, ends[i]!);
}

/** A sorter's entries in key order (numeric keys), in batches (one, refilled). */
export function* sortedEntryBatches(sorter: RunSorter, options?: { entries?: number; bytes?: number }): Generator<EntryBatch> {
  const batch = new EntryBatch(options);
  const entries = sorter.sorted();
  try {
    for (;;) {
      const done = fillEntryBatch(batch, entries);
      if (!batch.empty) yield batch;
      if (done) return;
      batch.clear();
    }
  } finally {
    // The runs being read are closed when the consumer stops early.
    entries.return(undefined);
  }
}

/** Adds entries of `entries` (numeric keys) to `batch` until it is full; true once they have run out. */
export function fillEntryBatch(batch: EntryBatch, entries: Iterator<SortedEntry>): boolean {
  while (!batch.full) {
    const next = entries.next();
    if (next.done) return true;
    batch.addBytes(next.value.key as number, next.value.buf, next.value.start, next.value.end);
  }
  return false;
}

const EMPTY = Buffer.alloc(0);
const NEWLINE = 10;
