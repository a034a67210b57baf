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
  /** Stops the threads (the index's, the reader's) if they still run, and removes the runs. */
  close(): Promise<void>;
}

/**
 * {@link indexResultEntries} followed by {@link sortEntries}, on a thread of its own that starts
 * at once: whatever the calling thread does meanwhile (the merge reads the dataset's ids) overlaps
 * it. The entries come sorted: the runs it hands over are read back on another thread. Only the
 * hash key ({@link hashBytes}) is computed on the index thread.
 */
export function indexResultEntriesOnThread(options: IndexResultEntriesOnThreadOptions): ResultIndexOnThread {
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const indexing = indexResultsOnThread(options.sources, { memoryBytes: options.memoryBytes, ...(options.tmpDir ? { tmpDir: options.tmpDir } : {}) }, signal);
  indexing.catch(() => {}); // awaited when read or closed
  // The runs' reader, once made: the runs are then its to remove.
  let reader: AsyncGenerator<EntryBatch> | null = null;
  return {
    indexed: indexing,
    async *[Symbol.asyncIterator]() {
      const indexed = await indexing;
      try {
        options.onBadLines?.(indexed.bad);
      } catch (err) {
        RunSorter.remove(indexed.runs);
        throw err;
      }
      // Read back on a thread too: the join on this one overlaps the runs' merge. Started at once.
      reader = readRunsOnThread(indexed.runs, { signal });
      yield* reader;
    },
    async close() {
      stop.abort();
      const indexed = await indexing.catch(() => null);
      if (!indexed) return;
      // Being read (or read): the reader ends its thread and removes the runs; never read: they go here.
      if (reader) await reader.return(undefined).catch(() => {});
      else RunSorter.remove(indexed.runs);
    },
  };
}
