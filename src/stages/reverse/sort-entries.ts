import { RunSorter, type SortMemory } from '../../core/sort/run-sorter.js';
import { addEntryBatch, sortedEntryBatches, type EntryBatch } from '../../core/sort/entry-batch.js';
import { readRunsOnThread } from '../../core/sort/run-reader-thread.js';
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
  /** Payload bytes per batch handed on. Default 64 KiB (512 KiB from a thread: core/sort/run-reader-thread.ts). */
  batchBytes?: number;
  /**
   * Once the input has ended, read the runs back on a thread of their own when the sort spilled
   * (core/sort/run-reader-thread.ts): their reading and k-way merge then overlap the next stage's
   * work, for a few MB of thread. Default false.
   */
  readOnThread?: boolean;
  /** Told how the sort went, once it is done. */
  onStats?: (stats: ExternalSortStats) => void;
}

/**
 * Stage: batches of entries (numeric keys, payloads without a newline: core/sort/entry-batch.ts) →
 * the same entries sorted by key, stable, in bounded memory, in batches. The byte form of
 * {@link externalSort}, on the same sorter, for pipelines that move millions of entries: the
 * merge's three sorts. The temporary folder of runs is removed on success, on failure and when
 * the consumer stops early.
 */
export function sortEntries(options: SortEntriesOptions = {}): Stage<EntryBatch, EntryBatch> {
  const memoryBytes = options.memory?.bytes ?? options.memoryBytes ?? DEFAULT_SORT_MEMORY;
  positiveInteger('memoryBytes', memoryBytes);
  return async function* sortEntriesStage(source, { signal } = {}) {
    const sorter = new RunSorter({ memoryBytes, ...(options.memory ? { memory: options.memory } : {}), ...(options.tmpDir ? { tmpDir: options.tmpDir } : {}), ...(options.fanIn ? { fanIn: options.fanIn } : {}) });
    try {
      for await (const batch of source) {
        addEntryBatch(sorter, batch);
        signal?.throwIfAborted();
      }
      const batchOptions = options.batchBytes ? { bytes: options.batchBytes } : {};
      if (options.readOnThread && sorter.runs > 0) {
        sorter.flush();
        const stats = { items: sorter.items, runs: sorter.runs, presorted: sorter.presorted };
        yield* readRunsOnThread(sorter.detach(), { ...batchOptions, ...(options.fanIn ? { fanIn: options.fanIn } : {}), ...(signal ? { signal } : {}) });
        options.onStats?.(stats);
        return;
      }
      if (options.memory) sorter.flush();
      for (const batch of sortedEntryBatches(sorter, batchOptions)) {
        yield batch;
        signal?.throwIfAborted();
      }
      options.onStats?.({ items: sorter.items, runs: sorter.runs, presorted: sorter.presorted });
    } finally {
      sorter.dispose();
    }
  };
}
