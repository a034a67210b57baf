// The merge's sorted join, steps 1 to 4 of pipeline/merge.ts: both sides sorted by id, joined, the result lines needed read and parsed, their outcomes sorted back into dataset order.
import { addDatasetKeys, addResultKeys, joinEntries, literalId, type DatasetKey, type IdHash, type JoinedRow, type PointerKey } from './join-keys.js';
import { indexResultsOnThread } from '../results/result-index-thread.js';
import { RunSorter, SortMemory, type SortedEntry } from '../sort/run-sorter.js';
import { ResultResolvePool } from '../results/result-resolve-pool.js';
import { failurePayload } from '../results/result-batch.js';
import type { ResultSource } from '../results/result-line.js';
import { BATCH_BYTES, resolveResults } from './join-steps.js';

/** The steps of a merge, as told to `onStep` (for progress lines). */
export type MergeStep = 'dataset ids' | 'result index' | 'join' | 'results' | 'output';

/** The merge's options the sorted join reads (pipeline/merge-options.ts has them all). */
export interface SortedJoinOptions {
  dataset: string;
  answerField?: string;
  idHash?: IdHash;
  onStep?: (step: MergeStep) => void;
  tmpDir?: string;
  signal?: AbortSignal;
}

/** What the sorted join works with: the merge's options, sorts, counts and threads (see pipeline/merge.ts). */
export interface SortedJoinContext {
  options: SortedJoinOptions;
  sources: Array<ResultSource & { size: number }>;
  memory: SortMemory;
  /** A sort in the shared memory, disposed of by the merge. */
  sorter: () => RunSorter;
  /** A sort made otherwise, for the merge to dispose of too. */
  track: (sorter: RunSorter) => void;
  counts: { duplicateIdRows: number; extraResults: number; unmatchedResults: number; badResultLines: number };
  /** The manifest says batches are still running: rows with no result are `pending`. */
  pending: boolean;
  threads: number;
  idHash: IdHash;
  /** Index the result files on a thread of their own while the dataset's ids are read. */
  indexThread: boolean;
  /** Told of the result threads, for the merge to close them whatever happens. */
  onPool: (pool: ResultResolvePool) => void;
}

/**
 * The merge's sorted join, steps 1 to 4 of pipeline/merge.ts: the dataset's ids and the results' pointers
 * sorted by the hash of the id and joined (ids whose hashes collide are told apart by their
 * literals, repeated ids reported), the result lines needed read in file order and parsed, and
 * their outcomes sorted by dataset line. For any dataset, in one sort arena at a time.
 */
export async function sortedJoin(context: SortedJoinContext): Promise<Iterable<SortedEntry>> {
  const { options, sources, memory, sorter, track, counts, pending, threads, idHash, indexThread, onPool } = context;
  const signal = options.signal;
  // 1. Dataset ids, and 2. result pointers, as join entries. Large result files are indexed on
  // a thread of their own meanwhile, each side sorting in half of the sort memory.
  const tmp = options.tmpDir ? { tmpDir: options.tmpDir } : {};
  let keys: RunSorter;
  let pointers: RunSorter;
  if (indexThread && !options.idHash && memory.bytes >= 2 * MIN_HALF_BYTES) {
    const arena = memory.take();
    const half = Math.floor(arena.length / 16) * 8;
    const stopIndex = new AbortController();
    // Half of the arena here, as much again on the thread (the other half of this one stays untouched).
    const indexing = indexResultsOnThread(sources, { memoryBytes: half, ...tmp }, signal ? AbortSignal.any([signal, stopIndex.signal]) : stopIndex.signal);
    indexing.catch(() => {}); // awaited below
    options.onStep?.('dataset ids');
    try {
      keys = new RunSorter({ memoryBytes: half, memory: SortMemory.over(arena.subarray(0, half)), ...tmp });
      track(keys);
      addDatasetKeys(options.dataset, keys, idHash, signal);
      keys.flush();
    } catch (err) {
      // The thread stops and removes its runs.
      stopIndex.abort();
      await indexing.catch(() => {});
      throw err;
    }
    options.onStep?.('result index');
    const indexed = await indexing;
    memory.give(arena);
    pointers = RunSorter.attach(indexed.runs, { memoryBytes: memory.bytes, memory, ...tmp });
    track(pointers);
    counts.badResultLines += indexed.bad;
  } else {
    options.onStep?.('dataset ids');
    keys = sorter();
    addDatasetKeys(options.dataset, keys, idHash, signal);
    keys.flush();
    options.onStep?.('result index');
    pointers = sorter();
    counts.badResultLines += addResultKeys(sources, pointers, idHash, signal);
    pointers.flush();
  }

  // 3. The join (ids whose hashes collide are told apart by their literals); rows by pointer
  // (rows with no result first, key -1).
  options.onStep?.('join');
  const joined = sorter();
  const joinId = (literal: string, lefts: DatasetKey[], rights: PointerKey[]): JoinedRow[] => {
    if (lefts.length === 0) {
      counts.unmatchedResults += rights.length;
      return [];
    }
    if (rights.length > 1) counts.extraResults += rights.length - 1;
    if (lefts.length > 1) {
      counts.duplicateIdRows += lefts.length;
      const id = literalId(literal);
      const lines = lefts.map((l) => l.line);
      const message = `id ${JSON.stringify(id)} is on ${lefts.length} lines (${lines.slice(0, 5).join(', ')}${lines.length > 5 ? ', …' : ''}): which answer belongs to which row cannot be told`;
      return lefts.map((l) => ({ key: -1, payload: `${l.line}\t${failurePayload(id, 'duplicate_id', null, message)}` }));
    }
    const line = lefts[0]!.line;
    if (rights.length === 0) {
      const id = literalId(literal);
      const failure = pending ? failurePayload(id, 'pending', null, 'its batch is not finished or not downloaded yet') : failurePayload(id, 'no_result', null, 'no result line for this id');
      return [{ key: -1, payload: `${line}\t${failure}` }];
    }
    // Several results (a resubmission's, a repeat): each is read, and the best kept at the end.
    return rights.map((p) => ({ key: p.src * 2 ** 40 + p.offset, payload: rights.length > 1 ? `${line}\t${p.order}` : String(line) }));
  };
  joinEntries(keys.sorted(), pointers.sorted(), joined, (lefts, rights) => {
    const only = lefts[0]?.literal ?? rights[0]!.literal;
    if (lefts.every((l) => l.literal === only) && rights.every((r) => r.literal === only)) return joinId(only, lefts, rights);
    // A hash collision: one join per id.
    const byId = new Map<string, { lefts: DatasetKey[]; rights: PointerKey[] }>();
    const group = (literal: string) => byId.get(literal) ?? byId.set(literal, { lefts: [], rights: [] }).get(literal)!;
    for (const l of lefts) group(l.literal).lefts.push(l);
    for (const r of rights) group(r.literal).rights.push(r);
    return [...byId].flatMap(([literal, g]) => joinId(literal, g.lefts, g.rights));
  }, signal);
  joined.flush();

  // 4. Result lines read in file order and parsed, on threads; outcomes by dataset line.
  options.onStep?.('results');
  const outcomes = sorter();
  const pool = new ResultResolvePool({ threads, batchBytes: BATCH_BYTES, sources: sources.map((s) => s.path), ...(options.answerField ? { field: options.answerField } : {}) });
  onPool(pool);
  counts.badResultLines += await resolveResults(joined.sorted(), pool, outcomes, signal);
  outcomes.flush();
  // The threads' heaps stay resident until they exit.
  await pool.close();
  return outcomes.sorted();
}

/** The least half of the sort memory to index results on a thread with. */
const MIN_HALF_BYTES = 64 << 10;
