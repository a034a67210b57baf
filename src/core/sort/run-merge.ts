import { rmSync } from 'node:fs';
import path from 'node:path';
import { bufferLines, type LineView } from '../io/sync-lines.js';
import { SyncFileWriter } from '../io/sync-writer.js';
import type { SortedEntry } from './sorted-entry.js';

/** A run's current line, as an entry. */
export interface RunHead {
  entry: SortedEntry;
  view: LineView;
  run: number;
  it: Generator<LineView>;
}

/**
 * Merges sorted run files k-way with a binary heap; ties go to the earlier run, which keeps the
 * sort stable. `entryOf` decodes a line into the entry object it is given (reused per run).
 * The read buffers share a fixed budget: more runs read in smaller blocks.
 */
export function* mergeRunFiles(files: string[], entryOf: (v: LineView, entry: SortedEntry) => SortedEntry): Generator<RunHead> {
  const heap: RunHead[] = [];
  const less = (a: RunHead, b: RunHead) => (a.entry.key < b.entry.key ? true : a.entry.key > b.entry.key ? false : a.run < b.run);
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
  const chunk = Math.max(MIN_READ_BYTES, Math.min(1 << 20, Math.floor(MERGE_READ_BYTES / files.length)));
  const lines = files.map((f) => bufferLines(f, chunk));
  try {
    for (const [run, it] of lines.entries()) {
      const next = it.next();
      if (next.done) continue;
      const head: RunHead = { entry: entryOf(next.value, { key: 0, buf: EMPTY, start: 0, end: 0 }), view: next.value, run, it };
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
        entryOf(next.value, top.entry);
      }
      siftDown();
    }
  } finally {
    for (const it of lines) it.return(undefined);
  }
}

/**
 * Merges runs `fanIn` at a time into new runs in `dir` (the merged ones removed) until at most
 * `fanIn` are left: the files open at once stay bounded. Returns the runs left. `stage`: the
 * staging buffer to write through (the sorter's).
 */
export function mergeInPasses(runs: string[], fanIn: number, dir: string, entryOf: (v: LineView, entry: SortedEntry) => SortedEntry, stage?: Buffer): string[] {
  let level = runs;
  while (level.length > fanIn) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += fanIn) {
      const group = level.slice(i, i + fanIn);
      const file = path.join(dir, `merge-${level.length}-${next.length}.txt`);
      const out = new SyncFileWriter(file, stage ? { stage } : {});
      try {
        for (const head of mergeRunFiles(group, entryOf)) {
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
  return level;
}

const EMPTY = Buffer.alloc(0);
const NEWLINE_BYTES = Buffer.from('\n');
/** What a k-way merge's read buffers take in all, and the least each gets. */
const MERGE_READ_BYTES = 4 << 20;
const MIN_READ_BYTES = 64 << 10;
