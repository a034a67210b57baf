import { availableParallelism } from 'node:os';
import { BatchExplainError } from '../errors.js';
import { hashBytes } from '../core/json/id-key.js';
import { removeStaleRuns, RunSorter, SortMemory } from '../core/sort/run-sorter.js';
import { sortedJoin } from '../core/join/sorted-join.js';
import { PartialFileOutput, PartialTextFile, StreamOutput, type StagedOutput } from '../core/io/staged-output.js';
import type { ResultResolvePool } from '../core/results/result-resolve-pool.js';
import { DEFAULT_SORT_MEMORY } from '../stages/reverse/external-sort.js';
import { DatasetSplicer } from '../core/join/dataset-splicer.js';
import { hasPendingWork } from '../batch-api/manifest.js';
import type { MergeOptions } from './merge-options.js';
import { mapEntries, readReject, readRejects, writeRows } from '../core/join/join-steps.js';
import { resultSources } from './merge-sources.js';

export type { MergeOptions, MergeStep } from './merge-options.js';

export interface MergeSummary {
  /** Dataset rows (non-blank lines): each is explained or has a reason. */
  rows: number;
  explained: number;
  /** Rows without an explanation, by reason. */
  byReason: Record<string, number>;
  /** Rows whose id is on more than one line (left without an explanation: which answer is whose cannot be told). */
  duplicateIdRows: number;
  /** Result lines beyond the first for an id (a resubmission's, or a duplicate): the successful one wins, then the newest. */
  extraResults: number;
  /** Result lines whose id is in no dataset row. */
  unmatchedResults: number;
  /** Lines of result files that are not result lines (damaged files). */
  badResultLines: number;
  sources: number;
  output: string;
  errorsPath: string;
}

export { resultSources } from './merge-sources.js';
import { defaultErrorsPath } from '../core/join/errors-path.js';
export { defaultErrorsPath };

/**
 * dataset + result files → the dataset with an explanation field on every row, in the dataset's
 * order, and an errors file naming every row without one and why. In bounded memory (one sort
 * arena of `sortMemory` at a time) and with sequential reads only (random reads of a large file
 * fall out of the page cache on our VMs).
 *
 * The join sorts both sides (steps 1 to 4, core/join/sorted-join.ts), then step 5 splices
 * (core/join/join-steps.ts):
 *
 * 1. dataset ids are read from the start of each line and sorted by the hash of their JSON literal;
 * 2. meanwhile, on a thread when they are large, result lines are indexed (id → file, offset) and
 *    the small pointers sorted the same way;
 * 3. the two are joined (joinEntries; ids whose hashes collide are told apart by their literals):
 *    each row gets the pointers of its results, or a reason;
 *    the rows are sorted by pointer, so that
 * 4. the kept result lines are read, each once and in file order, and parsed, by threads that are
 *    handed the pointers batch by batch (core/results/result-resolver.ts: the usual success read
 *    as bytes, by result-scan.ts; any other line parsed);
 *    the explanations (as JSON literals) are sorted by dataset line and
 * 5. spliced into the dataset's own bytes, row by row (writeRows).
 *
 * The hot loops of steps 3 to 5 allocate nothing per row: the main thread's young generation
 * would otherwise grow to the CLI's 16 MB limit and stay there (ARCHITECTURE.md).
 *
 * The sorts run on {@link RunSorter} directly, synchronously: the merge passes millions of
 * entries per step, where a promise each would cost more than the work. Counts are checked to
 * add up.
 */
export async function merge(options: MergeOptions): Promise<MergeSummary> {
  if (options.dataset === '-') throw new BatchExplainError('E_OPTION', 'merge reads the dataset twice: give a file, not stdin');
  const field = options.field ?? 'generated_explanation';
  const memory = new SortMemory(options.sortMemory ?? DEFAULT_SORT_MEMORY);
  const errorsPath = options.errorsPath ?? defaultErrorsPath(options.output);
  const sources = await resultSources(options.results, options.manifest);
  const pending = options.manifest ? hasPendingWork(options.manifest.state) : false;
  const signal = options.signal;
  const idHash = options.idHash ?? hashBytes;
  const resultBytes = sources.reduce((sum, s) => sum + s.size, 0);
  const counts = { rows: 0, explained: 0, byReason: {} as Record<string, number>, duplicateIdRows: 0, extraResults: 0, unmatchedResults: 0, badResultLines: 0 };

  // Runs of merges killed before they could clean up.
  removeStaleRuns(options.tmpDir);
  const sorters: RunSorter[] = [];
  const sorter = () => {
    const s = new RunSorter({ memoryBytes: memory.bytes, memory, ...(options.tmpDir ? { tmpDir: options.tmpDir } : {}) });
    sorters.push(s);
    return s;
  };
  const out = openOutput(options);
  const errors = new PartialTextFile(errorsPath);
  let pool: ResultResolvePool | undefined;
  try {
    // The build's rejects, by line: the reason of rows never sent.
    const rejects = sorter();
    if (options.rejectsPath) for (const r of readRejects(options.rejectsPath)) rejects.add(r.line, JSON.stringify([r.code, r.message]));
    rejects.flush();

    const threads = options.parseThreads ?? (resultBytes >= PARSE_THREADS_FROM ? Math.min(2, availableParallelism()) : 0);
    const outcomes = await sortedJoin({ options, sources, memory, sorter, track: (s) => sorters.push(s), counts, pending, threads, idHash, indexThread: options.indexThread ?? resultBytes >= PARSE_THREADS_FROM, onPool: (p) => (pool = p) });

    // 5. The dataset, row by row, with its outcome.
    options.onStep?.('output');
    signal?.throwIfAborted();
    // Without the build's rejects, the splicer checks each line's JSON itself (the build's verdict is not known).
    const splicer = new DatasetSplicer({ dataset: options.dataset, field, ...(options.rejectsPath ? { rejects: mapEntries(rejects.sorted(), readReject) } : {}), readAhead: true });
    try {
      await writeRows(
        splicer,
        outcomes,
        out,
        (missing) => {
          counts.rows++;
          if (missing) {
            counts.byReason[missing.reason] = (counts.byReason[missing.reason] ?? 0) + 1;
            errors.writeString(`${JSON.stringify(missing)}\n`);
          } else counts.explained++;
        },
        signal,
      );
    } finally {
      splicer.close();
    }
    await out.close();
    await errors.close();
  } catch (err) {
    await out.discard();
    await errors.discard();
    throw err;
  } finally {
    await pool?.close();
    for (const s of sorters) s.dispose();
  }
  const missing = Object.values(counts.byReason).reduce((a, b) => a + b, 0);
  if (counts.explained + missing !== counts.rows) throw new BatchExplainError('E_COUNTS', `internal: ${counts.rows} rows but ${counts.explained} explained + ${missing} without`);
  return { ...counts, sources: sources.length, output: options.output, errorsPath };
}

/** Results of at least this many bytes are read on threads (below, starting them costs more than it saves). */
const PARSE_THREADS_FROM = 32 * 1024 * 1024;

function openOutput(options: MergeOptions): StagedOutput {
  if (options.outputStream) return new StreamOutput(options.outputStream);
  if (options.output === '-') return new StreamOutput(process.stdout);
  return new PartialFileOutput(options.output);
}
