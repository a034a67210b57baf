import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileLines } from '../core/file-lines.js';
import { positiveInteger } from '../core/options.js';
import type { Stage } from '../types.js';

export interface ExternalSortOptions<T> {
  /** The sort key: strings compare by UTF-16 code units (as `<` does), numbers numerically. */
  key: (item: T) => string | number;
  /** Bytes of items held in memory before a sorted run is spilled to disk. Default 64 MiB. */
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

/** Bytes an item costs in memory beyond its line's characters (two bytes each): object and array slot. */
const ITEM_OVERHEAD = 64;

interface Held {
  k: string | number;
  line: string;
}

/**
 * Stage: items → the same items sorted by `key`, stable (equal keys keep their input order), in
 * bounded memory. Items are held as lines until `memoryBytes`; each full buffer is sorted and
 * spilled to a run file in a temporary folder; the runs are then merged k-way with a binary heap.
 * Input that arrives already in order is detected: it is never sorted, its runs are only read
 * back one after the other (and a small input is just passed on). The temporary folder is removed
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
    let held: Held[] = [];
    let heldBytes = 0;
    let items = 0;
    let spilled = 0;
    let presorted = true;
    let last: string | number | undefined;

    const spill = async () => {
      if (!presorted) held.sort(compareHeld);
      dir ??= await mkdtemp(path.join(o.tmpDir ?? tmpdir(), 'batch-explain-sort-'));
      const file = path.join(dir, `run-${String(runs.length).padStart(6, '0')}.jsonl`);
      await writeLines(file, held.map((h) => h.line));
      runs.push(file);
      spilled++;
      held = [];
      heldBytes = 0;
    };

    try {
      for await (const item of source) {
        const k = o.key(item);
        if (presorted && last !== undefined && k < last) presorted = false;
        last = k;
        const line = o.serialize(item);
        held.push({ k, line });
        heldBytes += line.length * 2 + ITEM_OVERHEAD;
        items++;
        if (heldBytes >= o.memoryBytes) await spill();
      }
      if (runs.length === 0) {
        // Everything fitted in memory.
        if (!presorted) held.sort(compareHeld);
        const out = held;
        held = [];
        for (const h of out) yield o.deserialize(h.line);
      } else {
        if (held.length > 0) await spill();
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
          for (const file of level) for await (const { text } of fileLines(file)) yield o.deserialize(text);
        } else {
          for await (const head of mergeRuns(level, o.key, o.deserialize)) yield head.item;
        }
      }
      o.onStats?.({ items, runs: spilled, presorted });
    } finally {
      held = [];
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  };
}

function compareHeld(a: Held, b: Held): number {
  return a.k < b.k ? -1 : a.k > b.k ? 1 : 0;
}

async function writeLines(file: string, lines: Iterable<string> | AsyncIterable<string>): Promise<void> {
  const out = createWriteStream(file);
  try {
    for await (const line of lines) if (!out.write(`${line}\n`)) await once(out, 'drain');
    out.end();
    await once(out, 'finish');
  } catch (err) {
    out.destroy();
    throw err;
  }
}

/**
 * Merges sorted run files into one sorted sequence of lines. A binary heap of one head line per
 * run; ties go to the earlier run, which keeps the sort stable.
 */
async function* linesOf<T>(heads: AsyncIterable<{ item: T; line: string }>): AsyncGenerator<string> {
  for await (const h of heads) yield h.line;
}

async function* mergeRuns<T>(files: string[], key: (item: T) => string | number, deserialize: (line: string) => T): AsyncGenerator<{ item: T; line: string }> {
  type Head = { k: string | number; item: T; line: string; run: number; it: AsyncIterator<{ line: number; text: string }> };
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
  const iterators = files.map((f) => fileLines(f)[Symbol.asyncIterator]());
  try {
    for (const [run, it] of iterators.entries()) {
      const next = await it.next();
      if (!next.done) push(head(next.value.text, run, it));
    }
    while (heap.length > 0) {
      const top = heap[0]!;
      yield top;
      const next = await top.it.next();
      if (next.done) {
        const lastHead = heap.pop()!;
        if (heap.length > 0) {
          heap[0] = lastHead;
          siftDown();
        }
      } else {
        heap[0] = head(next.value.text, top.run, top.it);
        siftDown();
      }
    }
  } finally {
    await Promise.all(iterators.map((it) => it.return?.(undefined)));
  }
}
