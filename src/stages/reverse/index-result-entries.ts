import { resultKeyLines, type IdHash } from '../../core/join/join-keys.js';
import { hashBytes } from '../../core/json/id-key.js';
import { indexResultsOnThread } from '../../core/results/result-index-thread.js';
import type { ResultSource } from '../../core/results/result-line.js';
import { EntryBatch } from '../../core/sort/entry-batch.js';
import { readRunsOnThread } from '../../core/sort/run-reader-thread.js';
import { RunSorter } from '../../core/sort/run-sorter.js';

export interface IndexResultEntriesOptions {
  /** The result files (batch outputs and error files), oldest first: a later result for an id is newer. */
  sources: readonly ResultSource[];
  /** The key of an id's JSON literal bytes. Default a 52-bit hash ({@link hashBytes}). */
  idHash?: IdHash;
  /** Told of the lines that are not result lines (damaged files), once the files are read. */
  onBadLines?: (count: number) => void;
}

/**
 * Source stage: result files → one entry per result line, keyed by the hash of the id's JSON
 * literal, `<source>\t<offset>\t<order>\t<literal>`, in batches: the right
 * side of the merge's join, to be sorted by key ({@link sortEntries}). The bytes are scanned for
 * newlines and only the start of each line is looked at (the ~1 KB answer is neither decoded nor
 * parsed here: the lines the join keeps are read again at the end, by {@link resolveResults}).
 * A line that is no result line is counted and skipped.
 */
export function indexResultEntries(options: IndexResultEntriesOptions): (options?: { signal?: AbortSignal }) => AsyncGenerator<EntryBatch> {
  return async function* indexResultEntriesSource({ signal } = {}) {
    const out = new EntryBatch();
    const loop = resultKeyLines(options.sources, out, options.idHash ?? hashBytes, signal);
    try {
      for (let step = loop.next(); ; step = loop.next()) {
        if (step.done) {
          options.onBadLines?.(step.value);
          break;
        }
        yield out;
        out.clear();
      }
    } finally {
      // Closes the file being read when the consumer stops early, or fails.
      loop.return(0);
    }
    if (!out.empty) yield out;
  };
}

export interface IndexResultEntriesOnThreadOptions {
  sources: readonly ResultSource[];
  /** The sort arena of the thread. */
  memoryBytes: number;
  tmpDir?: string;
  onBadLines?: (count: number) => void;
  signal?: AbortSignal;
}

/** {@link indexResultEntries} and its sort, started at once on a thread: iterate it for the sorted entries, or close it. */
export interface ResultIndexOnThread extends AsyncIterable<EntryBatch> {
  /** Resolves when the thread is done (its runs then wait to be read). */
  readonly indexed: Promise<unknown>;
  /** Stops the thread if it still runs, and removes its runs if they were never read. */
  close(): Promise<void>;
}

/**
 * {@link indexResultEntries} followed by {@link sortEntries}, on a thread of its own that starts
 * at once: whatever the calling thread does meanwhile (the merge reads the dataset's ids) overlaps
 * it. The entries come sorted, read from the runs the thread handed over, on another thread. Only the hash key
 * ({@link hashBytes}) is computed on the thread.
 */
export function indexResultEntriesOnThread(options: IndexResultEntriesOnThreadOptions): ResultIndexOnThread {
  const stop = new AbortController();
  const indexing = indexResultsOnThread(options.sources, { memoryBytes: options.memoryBytes, ...(options.tmpDir ? { tmpDir: options.tmpDir } : {}) }, options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal);
  indexing.catch(() => {}); // awaited when read or closed
  let taken = false;
  return {
    indexed: indexing,
    async *[Symbol.asyncIterator]() {
      taken = true;
      const indexed = await indexing;
      options.onBadLines?.(indexed.bad);
      // Read back on a thread too: the join on this one overlaps the runs' merge.
      yield* readRunsOnThread(indexed.runs, options.signal ? { signal: options.signal } : {});
    },
    async close() {
      stop.abort();
      const indexed = await indexing.catch(() => null);
      if (indexed && !taken) RunSorter.attach(indexed.runs, { memoryBytes: options.memoryBytes }).dispose();
    },
  };
}
