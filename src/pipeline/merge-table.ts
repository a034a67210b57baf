import { closeSync, fstatSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { IdTable, idHashes, MAX_LOAD } from '../core/join/id-table.js';
import { runsFolderPrefix } from '../core/sort/stale-runs.js';
import { fileChunks, type ChunkIds, type TableJoinCounts } from '../core/join/table-join.js';
import { joinResultsOnThreads, readIdsOnThreads } from '../core/join/table-join-thread.js';
import { bucketOutcomes } from '../core/join/outcome-buckets.js';
import { failurePayload } from '../core/results/result-batch.js';
import type { SortedEntry } from '../core/sort/run-sorter.js';
import type { ResultSource } from '../stages/read-results.js';

/**
 * The merge's join by table: when the dataset's ids fit in half of the sort memory as a table
 * (16 bytes a slot, at most 70% of them used: 1.4 million rows in 32 MiB), the ids are
 * looked up there instead of both sides being sorted and joined. The results are then read
 * once, on threads, each line's outcome going straight to a bucket of its row's line range; the
 * output step reads the buckets into the other half of the memory (one in each quarter: the next
 * is read while the rows of one are written) and takes their outcomes in row order
 * (outcome-buckets.ts). Against the sorted join this saves the sorts of
 * ids and pointers, the join, and the second read of the results (merge.ts tells the figures).
 *
 * When a dataset id is on two rows (or two ids share their 52-bit key) the table gives up and
 * the sorted join, which tells them apart by their literals and reports repeats, does the merge.
 */

export interface IdTableRead {
  table: IdTable;
  /** `keyed[line]` is 1 for a row with a usable id. */
  keyed: Uint8Array;
  /** The last line with a usable id. */
  lastLine: number;
}

/** Why the table could not be used: the sorted join does the merge. */
export type TableRefusal = 'too many rows' | 'repeated id';

/**
 * Reads the dataset's ids into a table of at most `maxBytes` (on `threads` threads, chunk by
 * chunk, put in the table in order by the calling one); the reason it gave up instead, at the
 * first repeated key or once the table would outgrow `maxBytes`.
 */
export async function readIdTable(dataset: string, maxBytes: number, threads: number, signal?: AbortSignal): Promise<IdTableRead | TableRefusal> {
  const maxSlots = 2 ** Math.floor(Math.log2(Math.max(2, maxBytes / IdTable.SLOT_BYTES)));
  // Sized from the dataset's first lines: a table grown step by step leaves its smaller copies
  // resident until a collection finds them. Far too many lines: not worth a try.
  const lines = estimateLines(dataset);
  if (lines > 1.5 * maxSlots * MAX_LOAD) return 'too many rows';
  let table = new IdTable(Math.min(maxSlots, 2 ** Math.ceil(Math.log2(Math.max(1024, (1.1 * lines) / MAX_LOAD)))));
  let keyed = new Uint8Array(1 << 16);
  let lastLine = 0;
  let refusal: TableRefusal | null = null;
  // Chunks come in any order; their lines are numbered once those before them are in.
  const waiting = new Map<number, ChunkIds>();
  let nextChunk = 0;
  let base = 0;
  const add = (ids: ChunkIds): TableRefusal | null => {
    for (let at = 0; at < ids.count; ) {
      at = table.insertMany(ids.keys, ids.checks, ids.rels, at, ids.count, base);
      if (at === ids.count) break;
      if (table.repeated) return 'repeated id';
      if (table.slots * 2 > maxSlots) return 'too many rows';
      table = table.grown(table.slots * 2);
    }
    if (base + ids.lines >= keyed.length) {
      const bigger = new Uint8Array(Math.max(keyed.length * 2, base + ids.lines + 1));
      bigger.set(keyed);
      keyed = bigger;
    }
    for (let i = 0; i < ids.count; i++) keyed[base + ids.rels[i]!] = 1;
    if (ids.count > 0) lastLine = base + ids.rels[ids.count - 1]!;
    base += ids.lines;
    return null;
  };
  await readIdsOnThreads(
    dataset,
    fileChunks([statSync(dataset).size]),
    threads,
    (ids) => {
      if (refusal) return false;
      waiting.set(ids.chunk, ids);
      for (let next = waiting.get(nextChunk); next && !refusal; next = waiting.get(nextChunk)) {
        waiting.delete(nextChunk++);
        refusal = add(next);
      }
      return !refusal;
    },
    signal,
  );
  return refusal ?? { table, keyed, lastLine };
}

/** The dataset's lines, estimated from the length of its first ones. */
function estimateLines(file: string): number {
  const fd = openSync(file, 'r');
  try {
    const sample = Buffer.allocUnsafe(256 << 10);
    const n = readSync(fd, sample, 0, sample.length, 0);
    let lines = 0;
    for (let i = sample.indexOf(10); i !== -1 && i < n; i = sample.indexOf(10, i + 1)) lines++;
    const size = fstatSync(fd).size;
    return n >= size ? lines + 1 : (size / n) * Math.max(1, lines);
  } finally {
    closeSync(fd);
  }
}

export interface TableJoinOptions {
  ids: IdTableRead;
  sources: ReadonlyArray<ResultSource & { size: number }>;
  /** The sort memory: its second half holds two buckets at a time. */
  memory: Buffer;
  tmpDir: string;
  threads: number;
  field?: string;
  /** The manifest says batches are still running: rows with no result are `pending`. */
  pending: boolean;
  signal?: AbortSignal;
}

export interface TableJoin {
  counts: TableJoinCounts;
  /** The outcome of every keyed row, in line order (views valid until the next). */
  outcomes(onExtra: () => void): AsyncGenerator<Iterable<SortedEntry>>;
  /** Removes the buckets. Safe to call more than once. */
  dispose(): void;
}

/** Bucket files one thread may have open at once, at most (more buckets: the sorted join). */
export const MAX_BUCKETS = 256;

/** The result pass of the join by table: each result's outcome into its row's bucket. */
export async function joinByTable(options: TableJoinOptions): Promise<TableJoin> {
  const { ids } = options;
  const half = Math.floor(options.memory.length / 2);
  const buckets = Math.min(MAX_BUCKETS, bucketsFor(options.sources.reduce((sum, s) => sum + s.size, 0), options.memory.length));
  const linesPerBucket = Math.max(1, Math.ceil(ids.lastLine / buckets));
  mkdirSync(options.tmpDir, { recursive: true });
  const dir = mkdtempSync(path.join(options.tmpDir, runsFolderPrefix()));
  const dispose = () => rmSync(dir, { recursive: true, force: true });
  try {
    const counts = await joinResultsOnThreads(
      {
        table: ids.table.memory,
        sources: options.sources.map((s) => ({ path: s.path, order: s.order })),
        chunks: fileChunks(options.sources.map((s) => s.size)),
        dir,
        linesPerBucket,
        ...(options.field ? { field: options.field } : {}),
      },
      options.threads,
      options.signal,
    );
    const missing = Buffer.from(options.pending ? failurePayload('', 'pending', null, 'its batch is not finished or not downloaded yet') : failurePayload('', 'no_result', null, 'no result line for this id'));
    return {
      counts,
      outcomes: (onExtra) =>
        bucketOutcomes({
          dir,
          buckets: Math.ceil(ids.lastLine / linesPerBucket),
          linesPerBucket,
          writers: Math.max(1, options.threads),
          keyed: ids.keyed,
          lastLine: ids.lastLine,
          missing,
          memory: options.memory.subarray(half),
          tmpDir: dir,
          onExtra,
        }),
      dispose,
    };
  } catch (err) {
    dispose();
    throw err;
  }
}

/**
 * The buckets for results of `resultBytes`, each for a quarter of the memory: an outcome is
 * shorter than its result line but for its head (row and order, < 32 bytes), so buckets sized on
 * the results rarely outgrow it (a bucket that does is sorted).
 */
function bucketsFor(resultBytes: number, memoryBytes: number): number {
  return Math.max(1, Math.ceil((resultBytes * 1.1) / Math.floor(memoryBytes / 4)));
}

/** Whether buckets for results of `resultBytes` fit {@link MAX_BUCKETS} with this memory. */
export function bucketsFit(resultBytes: number, memoryBytes: number): boolean {
  return bucketsFor(resultBytes, memoryBytes) <= MAX_BUCKETS;
}
