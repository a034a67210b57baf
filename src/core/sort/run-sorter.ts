import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bufferLines, type LineView } from '../io/sync-lines.js';
import { SyncFileWriter } from '../io/sync-writer.js';
import { mergeInPasses, mergeRunFiles } from './run-merge.js';
import { SortMemory } from './sort-memory.js';
import { runsFolderPrefix } from './stale-runs.js';

export { SortMemory };
export { removeStaleRuns } from './stale-runs.js';
import { isDecimal, readDecimal } from '../io/decimal.js';
import { SortArena } from './sort-arena.js';
import type { SortedEntry, SortKey } from './sorted-entry.js';

export type { SortedEntry, SortKey } from './sorted-entry.js';


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
  /** What is held in memory until it is spilled (made at the first entry: its key's kind). */
  #arena: SortArena | null = null;

  constructor(options: RunSorterOptions) {
    this.#memory = options.memory ?? new SortMemory(options.memoryBytes);
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
    this.#finish(key, at + this.#arena!.buffer.write(payload, at, 'utf8'));
  }

  addBytes(key: SortKey, buf: Buffer, start = 0, end = buf.length): void {
    // Bounded by the first newline: callers' entries end at one.
    const nl = buf.indexOf(NEWLINE, start);
    if (nl !== -1 && nl < end) this.#refuse();
    const at = this.#reserve(key, end - start);
    if (at === -1) return this.#addAlone(key, buf.subarray(start, end));
    buf.copy(this.#arena!.buffer, at, start, end);
    this.#finish(key, at + end - start);
  }

  /**
   * Room for one entry of at most `maxPayloadBytes` (spilling the arena first when full): returns
   * where its payload goes, or -1 for an entry larger than an empty arena.
   */
  #reserve(key: SortKey, maxPayloadBytes: number): number {
    if (this.#sorting) throw new Error('RunSorter: add after sorted()');
    const kind = typeof key === 'number' ? 'number' : 'string';
    if (this.#kind !== kind) {
      if (this.#kind !== null) throw new Error(`RunSorter: a ${kind} key among ${this.#kind} keys`);
      this.#kind = kind;
    }
    if (kind === 'number' && !Number.isFinite(key)) throw new Error(`RunSorter: key ${key} is not a finite number`);
    const arena = (this.#arena ??= new SortArena(this.#memory, kind));
    const keyText = keyTextOf(key);
    let at = arena.reserve(key, keyText, maxPayloadBytes);
    if (at === -1 && arena.count > 0) {
      this.#spill();
      at = arena.reserve(key, keyText, maxPayloadBytes);
    }
    if (at !== -1) this.#seen(key);
    return at;
  }

  #finish(key: SortKey, end: number): void {
    this.#arena!.finish(key, end);
    this.#items++;
  }

  /** Keeps track of whether entries come in key order. */
  #seen(key: SortKey): void {
    if (this.#presorted && this.#last !== undefined && key < this.#last) this.#presorted = false;
    this.#last = key;
  }

  /** An entry too large for the arena: a run of its own, after what is held. */
  #addAlone(key: SortKey, payload: Buffer): void {
    if (this.#arena && this.#arena.count > 0) this.#spill();
    this.#seen(key);
    const out = new SyncFileWriter(this.#newRun(), { stage: this.#memory.stage });
    try {
      out.writeString(`${keyTextOf(key) || String(key)}\t`);
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
    const arena = this.#arena!;
    const out = new SyncFileWriter(this.#newRun(), { stage: this.#memory.stage });
    try {
      for (const i of arena.order(this.#presorted)) out.write(arena.buffer, arena.startOf(i), arena.endOf(i));
    } finally {
      out.close();
    }
    arena.clear();
  }

  /**
   * Writes what is held as a run and gives the arena back: for a sort whose entries will be read
   * while another sort fills, so that only one arena is in use at a time.
   */
  flush(): void {
    if (this.#arena && this.#arena.count > 0) this.#spill();
    this.#arena?.release();
  }

  /**
   * The entries in key order. Once asked for, nothing more can be added. The entry object and its
   * bytes are reused: read them before asking for the next.
   */
  *sorted(): Generator<SortedEntry> {
    this.#sorting = true;
    if (this.#runs.length === 0) {
      const arena = this.#arena;
      if (!arena) return;
      const entry: SortedEntry = { key: 0, buf: arena.buffer, start: 0, end: 0 };
      for (const i of arena.order(this.#presorted)) {
        entry.key = arena.keyOf(i);
        entry.start = arena.buffer.indexOf(TAB, arena.startOf(i)) + 1;
        entry.end = arena.endOf(i) - 1;
        yield entry;
      }
      return;
    }
    // From here only run heads are held: the arena goes back.
    this.flush();
    let level: string[] = this.#runs.splice(0);
    if (this.#presorted) {
      const entry: SortedEntry = { key: 0, buf: EMPTY, start: 0, end: 0 };
      for (const file of level) for (const v of bufferLines(file)) yield this.#entryOf(v, entry);
      return;
    }
    // More runs than files open at once: merged in passes first.
    level = mergeInPasses(level, this.#fanIn, this.#dir!, (v, e) => this.#entryOf(v, e), this.#memory.stage);
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
    if (this.#arena && this.#arena.count > 0) throw new Error('RunSorter: detach before flush');
    const runs: SpilledRuns = { dir: this.#dir, runs: this.#runs, kind: this.#kind, presorted: this.#presorted, items: this.#items };
    this.#dir = null;
    this.#runs = [];
    this.#arena?.release();
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

  /** Removes runs a sorter detached, unread or read (their folder). Safe to call more than once. */
  static remove(spilled: SpilledRuns): void {
    RunSorter.attach(spilled, { memoryBytes: 1 }).dispose();
  }

  /** Removes the runs and lets the arena go. Safe to call more than once. */
  dispose(): void {
    this.#arena?.release();
    this.#arena?.clear();
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = null;
  }
}


const TAB = 9;
const NEWLINE = 10;
const QUOTE = 34;
const NEWLINE_BYTES = Buffer.from('\n');
const EMPTY = Buffer.alloc(0);

/**
 * A key as written at the front of a run line: '' for a non-negative integer (its digits are
 * written in place), a string as it is, or as JSON when it holds a tab or a newline or starts
 * with a quote (so the line still splits at its first tab).
 */
function keyTextOf(key: SortKey): string {
  if (typeof key === 'number') return Number.isSafeInteger(key) && key >= 0 ? '' : String(key);
  return key.charCodeAt(0) === QUOTE || key.includes('\t') || key.includes('\n') ? JSON.stringify(key) : key;
}
