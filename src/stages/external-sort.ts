import { closeSync, createWriteStream, openSync, writevSync, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { textLines } from '../core/sync-lines.js';
import { positiveInteger } from '../core/options.js';
import type { Stage } from '../types.js';

export interface ExternalSortOptions<T> {
  /** The sort key: strings compare by UTF-16 code units (as `<` does), numbers numerically. */
  key: (item: T) => string | number;
  /** Bytes of serialised items held before a sorted run is spilled to disk. Default 64 MiB. */
  memoryBytes?: number;
  /** Where the temporary folder of runs goes. Default the system's temporary folder. */
  tmpDir?: string;
  /** Runs merged at once; more are merged in passes. Default 64. */
  fanIn?: number;
  /** An item as one line (no newline inside). Default `JSON.stringify`. */
  serialize?: (item: T) => string;
  /** The inverse of `serialize`. Default `JSON.parse`. */
  deserialize?: (line: string) => T;
  /** Told how the sort went, once it is done. */
  onStats?: (stats: ExternalSortStats) => void;
}

export interface ExternalSortStats {
  items: number;
  /** Runs spilled to disk (0: everything fitted in memory). */
  runs: number;
  /** The input was already in order: nothing was sorted, runs were only concatenated. */
  presorted: boolean;
}

/** 64 MiB, the `--sort-memory` default: with the rest of a merge, well under its 200 MB budget. */
export const DEFAULT_SORT_MEMORY = 64 * 1024 * 1024;

/**
 * Stage: items → the same items sorted by `key`, stable (equal keys keep their input order), in
 * bounded memory. Each item is serialised into one reused byte arena of `memoryBytes` (so held
 * data is not V8 heap that garbage collection must trace and reclaim: only the keys are); a full
 * arena is sorted by key and spilled to a run file in a temporary folder; the runs are then
 * merged k-way with a binary heap. Input that arrives already in order is detected: it is never
 * sorted, and its runs are only read back one after the other. The temporary folder is removed
 * on success, on failure and when the consumer stops early.
 */
export function externalSort<T>(options: ExternalSortOptions<T>): Stage<T, T> {
  const o = { memoryBytes: DEFAULT_SORT_MEMORY, fanIn: 64, serialize: JSON.stringify as (item: T) => string, deserialize: JSON.parse as (line: string) => T, ...options };
  positiveInteger('memoryBytes', o.memoryBytes);
  positiveInteger('fanIn', o.fanIn);
  if (o.fanIn < 2) throw new Error('option fanIn: expected at least 2');

  return async function* externalSortStage(source) {
    let dir: string | null = null;
    const runs: string[] = [];
    const arena = new Arena(o.memoryBytes);
    let items = 0;
    let presorted = true;
    let last: string | number | undefined;

    const spill = async () => {
      dir ??= await mkdtemp(path.join(o.tmpDir ?? tmpdir(), 'batch-explain-sort-'));
      const file = path.join(dir, `run-${String(runs.length).padStart(6, '0')}.jsonl`);
      // Synchronous: a run goes to the page cache in a few large writes, faster than awaiting them.
      arena.writeSorted(file, !presorted);
      runs.push(file);
      arena.clear();
    };

    try {
      for await (const item of source) {
        const k = o.key(item);
        if (presorted && last !== undefined && k < last) presorted = false;
        last = k;
        const line = o.serialize(item);
        const bytes = Buffer.byteLength(line) + 1;
        if (!arena.fits(bytes)) await spill();
        arena.add(k, line, bytes);
        items++;
      }
      const spilled = runs.length + (runs.length > 0 && arena.count > 0 ? 1 : 0);
      if (runs.length === 0) {
        // Everything fitted in memory.
        for (const line of arena.sortedLines(!presorted)) yield o.deserialize(line);
      } else {
        if (arena.count > 0) await spill();
        // From here only run heads are held: the arena's bytes go back.
        arena.release();
        let level = runs.splice(0);
        // More runs than files open at once: merge them in passes.
        while (!presorted && level.length > o.fanIn) {
          const next: string[] = [];
          for (let i = 0; i < level.length; i += o.fanIn) {
            const group = level.slice(i, i + o.fanIn);
            const file = path.join(dir!, `merge-${next.length}-${level.length}.jsonl`);
            await writeLines(file, linesOf(mergeRuns(group, o.key, o.deserialize)));
            next.push(file);
            await Promise.all(group.map((f) => rm(f, { force: true })));
          }
          level = next;
        }
        if (presorted) {
          for (const file of level) for (const text of textLines(file)) yield o.deserialize(text);
        } else {
          for await (const head of mergeRuns(level, o.key, o.deserialize)) yield head.item;
        }
      }
      o.onStats?.({ items, runs: spilled, presorted });
    } finally {
      arena.release();
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  };
}

/**
 * Serialised items packed into one Buffer, with their keys and offsets beside it. Reused for
 * every run: its bytes are allocated once and never become garbage.
 */
class Arena {
  readonly #capacity: number;
  #buffer: Buffer | null = null;
  #used = 0;
  #keys: Array<string | number> = [];
  #starts: number[] = [];
  #ends: number[] = [];

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  get count(): number {
    return this.#keys.length;
  }

  /** An item of `bytes` fits if the arena is empty (a lone item larger than the arena is taken alone) or has room. */
  fits(bytes: number): boolean {
    return this.#keys.length === 0 || this.#used + bytes <= this.#capacity;
  }

  /** Adds a line of `bytes` bytes, its newline included. */
  add(key: string | number, line: string, bytes: number): void {
    if (!this.#buffer || this.#buffer.length < this.#used + bytes) {
      // Allocated once at full size: pages count in RSS only once written, so a small sort stays
      // small, and no outgrown buffer is left for the garbage collector. A lone item larger than
      // the arena gets a buffer of its own.
      const next = Buffer.allocUnsafeSlow(Math.max(this.#capacity, this.#used + bytes));
      this.#buffer?.copy(next, 0, 0, this.#used);
      this.#buffer = next;
    }
    this.#starts.push(this.#used);
    this.#used += this.#buffer.write(line, this.#used, 'utf8');
    this.#buffer[this.#used++] = 10;
    this.#ends.push(this.#used);
    this.#keys.push(key);
  }

  /** Indices in key order (stable: equal keys keep their order). */
  #order(sort: boolean): number[] {
    const order = Array.from({ length: this.#keys.length }, (_, i) => i);
    if (sort) {
      const keys = this.#keys;
      order.sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : a - b));
    }
    return order;
  }

  *sortedLines(sort: boolean): Generator<string> {
    for (const i of this.#order(sort)) yield this.#buffer!.toString('utf8', this.#starts[i]!, this.#ends[i]! - 1);
  }

  /** Writes the held lines in key order to `file`: views into the arena, gathered into writev calls (no copy). */
  writeSorted(file: string, sort: boolean): void {
    const fd = openSync(file, 'w');
    try {
      let views: Buffer[] = [];
      for (const i of this.#order(sort)) {
        views.push(this.#buffer!.subarray(this.#starts[i]!, this.#ends[i]!));
        if (views.length === WRITEV_MAX) {
          writeAll(fd, views);
          views = [];
        }
      }
      if (views.length) writeAll(fd, views);
    } finally {
      closeSync(fd);
    }
  }

  /** Drops the buffer itself (clear keeps it for the next run). */
  release(): void {
    this.clear();
    this.#buffer = null;
  }

  clear(): void {
    this.#used = 0;
    this.#keys = [];
    this.#starts = [];
    this.#ends = [];
    // A buffer grown for one oversized item is not kept.
    if (this.#buffer && this.#buffer.length > this.#capacity) this.#buffer = null;
  }
}

/** Buffers per writev call (Linux's IOV_MAX). */
const WRITEV_MAX = 1024;

function writeAll(fd: number, views: Buffer[]): void {
  let written = writevSync(fd, views);
  const total = views.reduce((n, v) => n + v.length, 0);
  // A short write (rare, on a full disk it is an error instead) is finished piece by piece.
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

async function* linesOf<T>(heads: AsyncIterable<{ item: T; line: string }>): AsyncGenerator<string> {
  for await (const h of heads) yield h.line;
}

/** Writes lines to a file, gathered into large writes. */
async function writeLines(file: string, lines: AsyncIterable<string>): Promise<void> {
  const out: WriteStream = createWriteStream(file);
  try {
    let pending: string[] = [];
    let size = 0;
    for await (const line of lines) {
      pending.push(line);
      size += line.length + 1;
      if (size >= 1 << 20) {
        if (!out.write(`${pending.join('\n')}\n`)) await once(out, 'drain');
        pending = [];
        size = 0;
      }
    }
    if (pending.length) out.write(`${pending.join('\n')}\n`);
    out.end();
    await once(out, 'finish');
  } catch (err) {
    out.destroy();
    throw err;
  }
}

/**
 * Merges sorted run files into one sorted sequence. A binary heap of one head per run; ties go
 * to the earlier run, which keeps the sort stable.
 */
async function* mergeRuns<T>(files: string[], key: (item: T) => string | number, deserialize: (line: string) => T): AsyncGenerator<{ item: T; line: string }> {
  type Head = { k: string | number; item: T; line: string; run: number; it: Iterator<string> };
  const head = (text: string, run: number, it: Head['it']): Head => {
    const item = deserialize(text);
    return { k: key(item), item, line: text, run, it };
  };
  const heap: Head[] = [];
  const less = (a: Head, b: Head) => (a.k < b.k ? true : a.k > b.k ? false : a.run < b.run);
  const push = (h: Head) => {
    heap.push(h);
    for (let i = heap.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!less(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  };
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
  // Run files are ours and in the page cache: read synchronously, no promise per line.
  const iterators = files.map((f) => textLines(f));
  try {
    for (const [run, it] of iterators.entries()) {
      const next = it.next();
      if (!next.done) push(head(next.value, run, it));
    }
    while (heap.length > 0) {
      const top = heap[0]!;
      yield top;
      const next = top.it.next();
      if (next.done) {
        const lastHead = heap.pop()!;
        if (heap.length > 0) {
          heap[0] = lastHead;
          siftDown();
        }
      } else {
        heap[0] = head(next.value, top.run, top.it);
        siftDown();
      }
    }
  } finally {
    for (const it of iterators) it.return?.(undefined);
  }
}
