import { RunSorter, type SortKey } from '../../core/sort/run-sorter.js';
import { positiveInteger } from '../../core/flow/options.js';
import type { Stage } from '../../types.js';

export interface ExternalSortOptions<T> {
  /** The sort key: strings compare by UTF-16 code units (as `<` does), numbers numerically; one kind per sort. */
  key: (item: T) => SortKey;
  /** Bytes of serialised items (and their keys) held before a sorted run is spilled to disk. Default 16 MiB. */
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

/**
 * 16 MiB, the `--sort-memory` default: with the rest of a merge (the CLI itself, the parse
 * threads, the read buffers) under its 150 MB budget at a million rows. More memory spills fewer
 * runs but hardly speeds the merge up (bench/RESULTS.md).
 */
export const DEFAULT_SORT_MEMORY = 16 * 1024 * 1024;

/**
 * Stage: items → the same items sorted by `key`, stable (equal keys keep their input order), in
 * bounded memory. Each item is serialised into one reused byte arena of `memoryBytes` (so held
 * items are not V8 heap that garbage collection must trace: only their keys are); a full arena
 * is sorted and spilled to a run file in a temporary folder; the runs are then merged k-way with
 * a binary heap ({@link RunSorter}, which the merge also uses directly on bytes). Input that
 * arrives already in order is detected: it is never sorted, and its runs are only read back one
 * after the other. The temporary folder is removed on success, on failure and when the consumer
 * stops early.
 */
export function externalSort<T>(options: ExternalSortOptions<T>): Stage<T, T> {
  const o = { memoryBytes: DEFAULT_SORT_MEMORY, fanIn: 64, serialize: JSON.stringify as (item: T) => string, deserialize: JSON.parse as (line: string) => T, ...options };
  positiveInteger('memoryBytes', o.memoryBytes);
  positiveInteger('fanIn', o.fanIn);
  if (o.fanIn < 2) throw new Error('option fanIn: expected at least 2');

  return async function* externalSortStage(source) {
    const sorter = new RunSorter({ memoryBytes: o.memoryBytes, fanIn: o.fanIn, ...(o.tmpDir ? { tmpDir: o.tmpDir } : {}) });
    try {
      for await (const item of source) sorter.add(o.key(item), o.serialize(item));
      for (const entry of sorter.sorted()) yield o.deserialize(entry.buf.toString('utf8', entry.start, entry.end));
      o.onStats?.({ items: sorter.items, runs: sorter.runs, presorted: sorter.presorted });
    } finally {
      sorter.dispose();
    }
  };
}
