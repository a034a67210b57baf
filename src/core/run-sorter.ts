import { closeSync, mkdtempSync, openSync, rmSync, writevSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bufferLines, type LineView } from './sync-lines.js';
import { SyncFileWriter } from './sync-writer.js';
import { integerOrder } from './radix-order.js';

export type SortKey = string | number;

/**
 * The byte arena sorts fill, lent to one sorter at a time: a merge's successive sorts reuse one
 * allocation, instead of each leaving its own for the garbage collector to find (a dropped
 * 64 MiB arena can stay resident until a full collection, beside the next one).
 */
export class SortMemory {
  readonly bytes: number;
  #free: Buffer | null = null;

  constructor(bytes: number) {
    this.bytes = bytes;
  }

  take(): Buffer {
    const buffer = this.#free ?? Buffer.allocUnsafeSlow(this.bytes);
    this.#free = null;
    return buffer;
  }

  give(buffer: Buffer): void {
    if (buffer.length === this.bytes) this.#free = buffer;
  }
}

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
  // The arena: entry i is buffer[starts[i], starts[i + 1]) (its newline included).
  #buffer: Buffer | null = null;
  #used = 0;
  #held = 0;
  /** What the entry being added counts beside its bytes. */
  #overhead = 0;
  #starts: number[] = [];
  #keys: SortKey[] = [];

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
    const at = this.#reserve(key, payload.length * 3);
    const written = this.#buffer!.write(payload, at, 'utf8');
    this.#finish(at + written, payload.includes('\n'));
  }

  addBytes(key: SortKey, buf: Buffer, start = 0, end = buf.length): void {
    const at = this.#reserve(key, end - start);
    buf.copy(this.#buffer!, at, start, end);
    this.#finish(at + end - start, buf.subarray(start, end).includes(NEWLINE));
  }

  /**
   * Room for one entry of at most `maxPayloadBytes` (spilling the arena first when full): writes
   * its key and returns where the payload goes. A string key is written as it is, or as JSON when
   * it holds a tab or a newline or starts with a quote (so the line still splits at its first tab).
   */
  #reserve(key: SortKey, maxPayloadBytes: number): number {
    if (this.#sorting) throw new Error('RunSorter: add after sorted()');
    const kind = typeof key === 'number' ? 'number' : 'string';
    if (this.#kind !== kind) {
      if (this.#kind !== null) throw new Error(`RunSorter: a ${kind} key among ${this.#kind} keys`);
      this.#kind = kind;
    }
    let keyText: string;
    if (kind === 'number') {
      if (!Number.isFinite(key)) throw new Error(`RunSorter: key ${key} is not a finite number`);
      keyText = String(key);
    } else {
      const k = key as string;
      keyText = k.charCodeAt(0) === QUOTE || k.includes('\t') || k.includes('\n') ? JSON.stringify(k) : k;
    }
    if (this.#presorted && this.#last !== undefined && key < this.#last) this.#presorted = false;
    this.#last = key;
    const maxLine = keyText.length * 3 + 1 + maxPayloadBytes + 1;
    // Held: the line, its start, and a string key a second time as a string to compare (2 bytes a unit).
    const overhead = 16 + (kind === 'string' ? (key as string).length * 2 + 24 : 0);
    if (this.#keys.length > 0 && (this.#held + maxLine + overhead > this.#memoryBytes || this.#used + maxLine > this.#buffer!.length)) this.#spill();
    if (!this.#buffer) this.#buffer = this.#memory.take();
    if (this.#buffer.length < this.#used + maxLine) {
      // An entry larger than the arena gets a buffer of its own (the arena goes back).
      const bigger = Buffer.allocUnsafeSlow(this.#used + maxLine);
      this.#buffer.copy(bigger, 0, 0, this.#used);
      this.#memory.give(this.#buffer);
      this.#buffer = bigger;
    }
    this.#starts.push(this.#used);
    this.#keys.push(key);
    this.#held += overhead;
    this.#overhead = overhead;
    let at = this.#used + this.#buffer.write(keyText, this.#used, kind === 'number' ? 'latin1' : 'utf8');
    this.#buffer[at++] = TAB;
    return at;
  }

  #finish(end: number, hasNewline: boolean): void {
    if (hasNewline) {
      // Undo the entry: the sorter stays usable, and the caller learns why.
      this.#used = this.#starts.pop()!;
      this.#keys.pop();
      this.#held -= this.#overhead;
      throw new Error('RunSorter: a payload holds a newline');
    }
    this.#buffer![end] = NEWLINE;
    this.#held += end + 1 - this.#used;
    this.#used = end + 1;
    this.#items++;
  }

  /** Entry indices in key order (stable): integers by radix sort, anything else by comparison. */
  #order(): ArrayLike<number> & Iterable<number> {
    const keys = this.#keys;
    if (!this.#presorted && this.#kind === 'number') {
      const order = integerOrder(keys as number[]);
      if (order) return order;
    }
    const order = Array.from({ length: keys.length }, (_, i) => i);
    if (!this.#presorted) order.sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : a - b));
    return order;
  }

  #spill(): void {
    this.#dir ??= mkdtempSync(path.join(this.#tmpDir, 'batch-explain-sort-'));
    const file = path.join(this.#dir, `run-${String(this.#runs.length).padStart(6, '0')}.txt`);
    const fd = openSync(file, 'w');
    try {
      // Views into the arena, gathered into writev calls: no copy.
      const starts = this.#starts;
      const views: Buffer[] = [];
      for (const i of this.#order()) {
        views.push(this.#buffer!.subarray(starts[i]!, i + 1 < starts.length ? starts[i + 1]! : this.#used));
        if (views.length === WRITEV_MAX) writeAll(fd, views.splice(0));
      }
      if (views.length) writeAll(fd, views);
    } finally {
      closeSync(fd);
    }
    this.#runs.push(file);
    this.#spilled++;
    this.#clear();
  }

  #clear(): void {
    this.#used = 0;
    this.#held = 0;
    this.#starts = [];
    this.#keys = [];
    // A buffer grown for one oversized entry is not kept.
    if (this.#buffer && this.#buffer.length > this.#memoryBytes) this.#buffer = null;
  }

  /** Gives the arena back (to the next sorter of the same SortMemory). */
  #release(): void {
    if (this.#buffer) this.#memory.give(this.#buffer);
    this.#buffer = null;
  }

  /**
   * Writes what is held as a run and gives the arena back: for a sort whose entries will be read
   * while another sort fills, so that only one arena is in use at a time.
   */
  flush(): void {
    if (this.#keys.length > 0) this.#spill();
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
      const starts = this.#starts;
      for (const i of this.#order()) {
        const start = starts[i]!;
        entry.key = this.#keys[i]!;
        entry.start = this.#buffer!.indexOf(TAB, start) + 1;
        entry.end = (i + 1 < starts.length ? starts[i + 1]! : this.#used) - 1;
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
          for (const head of this.#merge(group)) {
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
    for (const head of this.#merge(level)) yield head.entry;
  }

  /** A run's line as an entry: its key decoded from the front of the line. */
  #entryOf(v: LineView, entry: SortedEntry): SortedEntry {
    const tab = v.buf.indexOf(TAB, v.start);
    if (this.#kind === 'number') entry.key = Number(v.buf.toString('latin1', v.start, tab));
    else entry.key = v.buf[v.start] === QUOTE ? (JSON.parse(v.buf.toString('utf8', v.start, tab)) as string) : v.buf.toString('utf8', v.start, tab);
    entry.buf = v.buf;
    entry.start = tab + 1;
    entry.end = v.end;
    return entry;
  }

  /** Merges sorted run files; ties go to the earlier run, which keeps the sort stable. */
  *#merge(files: string[]): Generator<Head> {
    const heap: Head[] = [];
    const less = (a: Head, b: Head) => (a.entry.key < b.entry.key ? true : a.entry.key > b.entry.key ? false : a.run < b.run);
    const siftDown = () => {
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) return;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    };
    const lines = files.map((f) => bufferLines(f));
    try {
      for (const [run, it] of lines.entries()) {
        const next = it.next();
        if (next.done) continue;
        const head: Head = { entry: this.#entryOf(next.value, { key: 0, buf: EMPTY, start: 0, end: 0 }), view: next.value, run, it };
        heap.push(head);
        for (let i = heap.length - 1; i > 0; ) {
          const p = (i - 1) >> 1;
          if (!less(heap[i]!, heap[p]!)) break;
          [heap[i], heap[p]] = [heap[p]!, heap[i]!];
          i = p;
        }
      }
      while (heap.length > 0) {
        const top = heap[0]!;
        yield top;
        const next = top.it.next();
        if (next.done) {
          const last = heap.pop()!;
          if (heap.length === 0) break;
          heap[0] = last;
        } else {
          top.view = next.value;
          this.#entryOf(next.value, top.entry);
        }
        siftDown();
      }
    } finally {
      for (const it of lines) it.return(undefined);
    }
  }

  /** Removes the runs and lets the arena go. Safe to call more than once. */
  dispose(): void {
    this.#release();
    this.#starts = [];
    this.#keys = [];
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = null;
  }
}

interface Head {
  entry: SortedEntry;
  view: LineView;
  run: number;
  it: Generator<LineView>;
}

const TAB = 9;
const NEWLINE = 10;
const QUOTE = 34;
const NEWLINE_BYTES = Buffer.from('\n');
const EMPTY = Buffer.alloc(0);
/** Buffers per writev call (Linux's IOV_MAX). */
const WRITEV_MAX = 1024;

function writeAll(fd: number, views: Buffer[]): void {
  let written = writevSync(fd, views);
  const total = views.reduce((n, v) => n + v.length, 0);
  // A short write (rare: on a full disk it is an error instead) is finished piece by piece.
  while (written < total) {
    let skip = written;
    const rest: Buffer[] = [];
    for (const v of views) {
      if (skip >= v.length) skip -= v.length;
      else {
        rest.push(v.subarray(skip));
        skip = 0;
      }
    }
    written += writevSync(fd, rest);
  }
}
