import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bufferLines, type LineView } from './sync-lines.js';
import { SyncFileWriter } from './sync-writer.js';
import { mergeRunFiles } from './run-merge.js';
import { SortMemory } from './sort-memory.js';
import { runsFolderPrefix } from './stale-runs.js';

export { SortMemory };
export { removeStaleRuns } from './stale-runs.js';
import { integerOrder } from './radix-order.js';
import { isDecimal, readDecimal, writeDecimal } from './decimal.js';

export type SortKey = string | number;

export interface RunSorterOptions {
  /** Bytes held before a sorted run is spilled to disk: the entries' bytes and their keys. */
  memoryBytes: number;
  /** The arena to borrow (its size overrides `memoryBytes`). Default: a fresh one. */
  memory?: SortMemory;
  /** Where the temporary folder of runs goes. Default the system's temporary folder. */
  tmpDir?: string;
  /** Runs merged at once; more are merged in passes. Default 64. */
  fanIn?: number;
}

/** The runs of a sorter, as {@link RunSorter.detach} hands them over (plain data: it crosses threads). */
export interface SpilledRuns {
  dir: string | null;
  runs: string[];
  kind: 'string' | 'number' | null;
  presorted: boolean;
  items: number;
}

/** One entry of the sorted sequence: its key and a view of its payload bytes, valid until the next entry is asked for. */
export interface SortedEntry {
  key: SortKey;
  buf: Buffer;
  start: number;
  end: number;
}

/**
 * The synchronous core of the external sort: entries (a key and a one-line payload, as bytes or
 * text) are packed into one byte arena of `memoryBytes`; a full arena is sorted by key and
 * spilled to a run file as `<key>\t<payload>` lines; the runs are merged k-way with a binary heap.
 * Stable: equal keys keep the order they were added in. Input added already in key order is
 * detected: it is never sorted, and its runs are only read back one after the other.
 *
 * Synchronous on purpose: runs are written and read in large blocks that land in the page
 * cache, and the merge's own loops pass millions of entries, where a promise each would cost
 * more than the work. Keys of one sorter are all strings (compared by UTF-16 code units, as `<`)
 * or all numbers. Payloads hold no newline. Call {@link dispose} when done (it removes the runs).
 */
export class RunSorter {
  readonly #memoryBytes: number;
  readonly #memory: SortMemory;
  readonly #tmpDir: string;
  readonly #fanIn: number;
  #dir: string | null = null;
  #runs: string[] = [];
  #kind: 'string' | 'number' | null = null;
  #presorted = true;
  #last: SortKey | undefined;
  #items = 0;
  #spilled = 0;
  #sorting = false;
  // The arena: entry bytes grow from its start, and each entry's start offset and number key
  // (two float64 slots) from its end, with as much again left free below them for the radix
  // sort's scratch: the arena is all the memory a run takes (string keys aside).
  #buffer: Buffer | null = null;
  #meta: Float64Array = EMPTY_META;
  #count = 0;
  #used = 0;
  #held = 0;
  /** String keys (kept as strings to compare). */
  #stringKeys: string[] = [];

  constructor(options: RunSorterOptions) {
    this.#memory = options.memory ?? new SortMemory(options.memoryBytes);
    this.#memoryBytes = this.#memory.bytes;
    this.#tmpDir = options.tmpDir ?? tmpdir();
    this.#fanIn = options.fanIn ?? 64;
    if (this.#fanIn < 2) throw new Error('option fanIn: expected at least 2');
  }

  /** Entries added. */
  get items(): number {
    return this.#items;
  }

  /** Runs spilled to disk (0: everything fitted in memory). */
  get runs(): number {
    return this.#spilled;
  }

  /** Every entry came in key order. */
  get presorted(): boolean {
    return this.#presorted;
  }

  add(key: SortKey, payload: string): void {
    if (payload.includes('\n')) this.#refuse();
    const at = this.#reserve(key, payload.length * 3);
    if (at === -1) return this.#addAlone(key, Buffer.from(payload));
    this.#finish(key, at + this.#buffer!.write(payload, at, 'utf8'));
  }

  addBytes(key: SortKey, buf: Buffer, start = 0, end = buf.length): void {
    // Bounded by the first newline: callers' entries end at one.
    const nl = buf.indexOf(NEWLINE, start);
    if (nl !== -1 && nl < end) this.#refuse();
    const at = this.#reserve(key, end - start);
    if (at === -1) return this.#addAlone(key, buf.subarray(start, end));
    buf.copy(this.#buffer!, at, start, end);
    this.#finish(key, at + end - start);
  }

  /**
   * Room for one entry of at most `maxPayloadBytes` (spilling the arena first when full): writes
   * its key and returns where the payload goes, or -1 for an entry larger than an empty arena.
   * A string key is written as it is, or as JSON when it holds a tab or a newline or starts with
   * a quote (so the line still splits at its first tab).
   */
  #reserve(key: SortKey, maxPayloadBytes: number): number {
    if (this.#sorting) throw new Error('RunSorter: add after sorted()');
    const kind = typeof key === 'number' ? 'number' : 'string';
    if (this.#kind !== kind) {
      if (this.#kind !== null) throw new Error(`RunSorter: a ${kind} key among ${this.#kind} keys`);
      this.#kind = kind;
    }
    // A non-negative integer key is written as digits in place (most are: lines, offsets, hashes).
    let keyText = '';
    if (kind === 'number') {
      if (!Number.isFinite(key)) throw new Error(`RunSorter: key ${key} is not a finite number`);
      if (!(Number.isSafeInteger(key) && (key as number) >= 0)) keyText = String(key);
    } else {
      const k = key as string;
      keyText = k.charCodeAt(0) === QUOTE || k.includes('\t') || k.includes('\n') ? JSON.stringify(k) : k;
    }
    const maxLine = (keyText.length || 16) * 3 + 1 + maxPayloadBytes + 1;
    // A string key is held a second time as a string to compare (2 bytes a unit).
    const keyBytes = kind === 'string' ? (key as string).length * 2 + 24 : 0;
    if (this.#count > 0 && !this.#fits(maxLine, keyBytes)) this.#spill();
    if (!this.#buffer) {
      this.#buffer = this.#memory.take();
      this.#meta = new Float64Array(this.#buffer.buffer, this.#buffer.byteOffset, this.#buffer.length >> 3);
    }
    if (!this.#fits(maxLine, keyBytes)) return -1;
    if (this.#presorted && this.#last !== undefined && key < this.#last) this.#presorted = false;
    this.#last = key;
    const m = this.#meta.length - 2 * this.#count;
    this.#meta[m - 1] = this.#used;
    if (kind === 'number') this.#meta[m - 2] = key as number;
    this.#held += keyBytes;
    let at = kind === 'number' && keyText === '' ? writeDecimal(this.#buffer, this.#used, key as number) : this.#used + this.#buffer.write(keyText, this.#used, kind === 'number' ? 'latin1' : 'utf8');
    this.#buffer[at++] = TAB;
    return at;
  }

  /** Whether one more entry of `maxLine` bytes (and 32 of slots and scratch) fits. */
  #fits(maxLine: number, keyBytes: number): boolean {
    const slotsFrom = (this.#meta.length - 4 * (this.#count + 1)) * 8;
    return this.#used + maxLine <= slotsFrom && this.#held + keyBytes + maxLine + 32 * (this.#count + 1) <= this.#memoryBytes;
  }

  #finish(key: SortKey, end: number): void {
    this.#buffer![end] = NEWLINE;
    this.#held += end + 1 - this.#used;
    this.#used = end + 1;
    if (this.#kind === 'string') this.#stringKeys.push(key as string);
    this.#count++;
    this.#items++;
  }

  /** An entry too large for the arena: a run of its own, after what is held. */
  #addAlone(key: SortKey, payload: Buffer): void {
    if (this.#count > 0) this.#spill();
    if (this.#presorted && this.#last !== undefined && key < this.#last) this.#presorted = false;
    this.#last = key;
    const keyText = typeof key === 'number' ? String(key) : key.charCodeAt(0) === QUOTE || key.includes('\t') || key.includes('\n') ? JSON.stringify(key) : key;
    const out = new SyncFileWriter(this.#newRun());
    try {
      out.writeString(`${keyText}\t`);
      out.write(payload);
      out.write(NEWLINE_BYTES);
    } finally {
      out.close();
    }
    this.#items++;
  }

  #refuse(): never {
    throw new Error('RunSorter: a payload holds a newline');
  }

  /** Start offset of entry i; its end is the next one's start, or the end of the used bytes. */
  #startOf(i: number): number {
    return this.#meta[this.#meta.length - 1 - 2 * i]!;
  }

  #endOf(i: number): number {
    return i + 1 < this.#count ? this.#startOf(i + 1) : this.#used;
  }

  #keyOf(i: number): SortKey {
    return this.#kind === 'number' ? this.#meta[this.#meta.length - 2 - 2 * i]! : this.#stringKeys[i]!;
  }

  /** Entry indices in key order (stable): integers by radix sort, anything else by comparison. */
  #order(): ArrayLike<number> & Iterable<number> {
    const n = this.#count;
    if (this.#presorted) return Array.from({ length: n }, (_, i) => i);
    if (this.#kind === 'number') {
      const meta = this.#meta;
      const top = meta.length - 2;
      const scratch = new Uint32Array(meta.buffer, meta.byteOffset + (meta.length - 4 * n) * 8, 4 * n);
      const order = integerOrder(n, (i) => meta[top - 2 * i]!, scratch);
      if (order) return order;
    }
    const keys = Array.from({ length: n }, (_, i) => this.#keyOf(i));
    return Array.from({ length: n }, (_, i) => i).sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : a - b));
  }

  #newRun(): string {
    if (!this.#dir) {
      // A --tmp-dir that does not exist yet is made.
      mkdirSync(this.#tmpDir, { recursive: true });
      this.#dir = mkdtempSync(path.join(this.#tmpDir, runsFolderPrefix()));
    }
    const file = path.join(this.#dir, `run-${String(this.#runs.length).padStart(6, '0')}.txt`);
    this.#runs.push(file);
    this.#spilled++;
    return file;
  }

  #spill(): void {
    const out = new SyncFileWriter(this.#newRun());
    try {
      for (const i of this.#order()) out.write(this.#buffer!, this.#startOf(i), this.#endOf(i));
    } finally {
      out.close();
    }
    this.#clear();
  }

  #clear(): void {
    this.#used = 0;
    this.#held = 0;
    this.#count = 0;
    this.#stringKeys = [];
  }

  /** Gives the arena back (to the next sorter of the same SortMemory). */
  #release(): void {
    if (this.#buffer) this.#memory.give(this.#buffer);
    this.#buffer = null;
    this.#meta = EMPTY_META;
  }

  /**
   * Writes what is held as a run and gives the arena back: for a sort whose entries will be read
   * while another sort fills, so that only one arena is in use at a time.
   */
  flush(): void {
    if (this.#count > 0) this.#spill();
    this.#release();
  }

  /**
   * The entries in key order. Once asked for, nothing more can be added. The entry object and its
   * bytes are reused: read them before asking for the next.
   */
  *sorted(): Generator<SortedEntry> {
    this.#sorting = true;
    if (this.#runs.length === 0) {
      const entry: SortedEntry = { key: 0, buf: this.#buffer ?? EMPTY, start: 0, end: 0 };
      for (const i of this.#order()) {
        entry.key = this.#keyOf(i);
        entry.start = this.#buffer!.indexOf(TAB, this.#startOf(i)) + 1;
        entry.end = this.#endOf(i) - 1;
        yield entry;
      }
      return;
    }
    // From here only run heads are held: the arena goes back.
    this.flush();
    let level = this.#runs.splice(0);
    if (this.#presorted) {
      const entry: SortedEntry = { key: 0, buf: EMPTY, start: 0, end: 0 };
      for (const file of level) for (const v of bufferLines(file)) yield this.#entryOf(v, entry);
      return;
    }
    // More runs than files open at once: merge them in passes.
    while (level.length > this.#fanIn) {
      const next: string[] = [];
      for (let i = 0; i < level.length; i += this.#fanIn) {
        const group = level.slice(i, i + this.#fanIn);
        const file = path.join(this.#dir!, `merge-${level.length}-${next.length}.txt`);
        const out = new SyncFileWriter(file);
        try {
          for (const head of mergeRunFiles(group, (v, e) => this.#entryOf(v, e))) {
            out.write(head.view.buf, head.view.start, head.view.end);
            out.write(NEWLINE_BYTES);
          }
        } finally {
          out.close();
        }
        next.push(file);
        for (const f of group) rmSync(f, { force: true });
      }
      level = next;
    }
    for (const head of mergeRunFiles(level, (v, e) => this.#entryOf(v, e))) yield head.entry;
  }

  /** A run's line as an entry: its key decoded from the front of the line. */
  #entryOf(v: LineView, entry: SortedEntry): SortedEntry {
    const tab = v.buf.indexOf(TAB, v.start);
    if (this.#kind === 'number') entry.key = isDecimal(v.buf, v.start, tab) ? readDecimal(v.buf, v.start, tab) : Number(v.buf.toString('latin1', v.start, tab));
    else entry.key = v.buf[v.start] === QUOTE ? (JSON.parse(v.buf.toString('utf8', v.start, tab)) as string) : v.buf.toString('utf8', v.start, tab);
    entry.buf = v.buf;
    entry.start = tab + 1;
    entry.end = v.end;
    return entry;
  }

  /**
   * Hands the spilled runs over (after {@link flush}): to {@link attach} in another sorter, on
   * another thread. This sorter then owns nothing.
   */
  detach(): SpilledRuns {
    if (this.#count > 0) throw new Error('RunSorter: detach before flush');
    const runs: SpilledRuns = { dir: this.#dir, runs: this.#runs, kind: this.#kind, presorted: this.#presorted, items: this.#items };
    this.#dir = null;
    this.#runs = [];
    this.#release();
    return runs;
  }

  /** A sorter over runs another one detached: read with {@link sorted}, removed by {@link dispose}. */
  static attach(spilled: SpilledRuns, options: RunSorterOptions): RunSorter {
    const sorter = new RunSorter(options);
    sorter.#dir = spilled.dir;
    sorter.#runs = [...spilled.runs];
    sorter.#spilled = spilled.runs.length;
    sorter.#kind = spilled.kind;
    sorter.#presorted = spilled.presorted;
    sorter.#items = spilled.items;
    return sorter;
  }

  /** Removes the runs and lets the arena go. Safe to call more than once. */
  dispose(): void {
    this.#release();
    this.#clear();
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = null;
  }
}


const TAB = 9;
const NEWLINE = 10;
const QUOTE = 34;
const NEWLINE_BYTES = Buffer.from('\n');
const EMPTY = Buffer.alloc(0);
const EMPTY_META = new Float64Array(0);
