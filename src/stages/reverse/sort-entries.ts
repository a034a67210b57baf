import { RunSorter, type SortMemory } from '../../core/sort/run-sorter.js';
import { addRunLines, sortedRunLines, type RunLines } from '../../core/sort/run-lines.js';
import { positiveInteger } from '../../core/flow/options.js';
import type { Stage } from '../../types.js';
import { DEFAULT_SORT_MEMORY, type ExternalSortStats } from './external-sort.js';

export interface SortEntriesOptions {
  /** Bytes of lines held before a sorted run is spilled to disk. Default 16 MiB (the `--sort-memory` default). */
  memoryBytes?: number;
  /**
   * An arena lent to the sorts of a pipeline in turn (its size overrides `memoryBytes`). A sort
   * given one spills what it holds before its first line goes out, and so hands the arena on to
   * the next sort, which fills while this one is read back: one arena for the whole pipeline.
   */
  memory?: SortMemory;
  /** Where the temporary folder of runs goes. Default the system's temporary folder. */
  tmpDir?: string;
  /** Runs merged at once; more are merged in passes. Default 64. */
  fanIn?: number;
  /** Bytes per chunk handed on. Default 64 KiB. */
  chunkBytes?: number;
  /** Told how the sort went, once it is done. */
  onStats?: (stats: ExternalSortStats) => void;
}

/**
 * Stage: chunks of run lines (`<key>\t<payload>\n`, numeric keys, core/sort/run-lines.ts) → the
 * same lines sorted by key, stable, in bounded memory, as chunks. The byte form of
 * {@link externalSort}, on the same sorter, for pipelines that move millions of entries: the
 * merge's three sorts. The temporary folder of runs is removed on success, on failure and when
 * the consumer stops early.
 */
export function sortEntries(options: SortEntriesOptions = {}): Stage<RunLines, RunLines> {
  const memoryBytes = options.memory?.bytes ?? options.memoryBytes ?? DEFAULT_SORT_MEMORY;
  positiveInteger('memoryBytes', memoryBytes);
  return async function* sortEntriesStage(source, { signal } = {}) {
    const sorter = new RunSorter({ memoryBytes, ...(options.memory ? { memory: options.memory } : {}), ...(options.tmpDir ? { tmpDir: options.tmpDir } : {}), ...(options.fanIn ? { fanIn: options.fanIn } : {}) });
    try {
      for await (const chunk of source) {
        addRunLines(sorter, chunk);
        signal?.throwIfAborted();
      }
      if (options.memory) sorter.flush();
      for (const chunk of sortedRunLines(sorter, options.chunkBytes)) {
        yield chunk;
        signal?.throwIfAborted();
      }
      options.onStats?.({ items: sorter.items, runs: sorter.runs, presorted: sorter.presorted });
    } finally {
      sorter.dispose();
    }
  };
}
