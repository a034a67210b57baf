import { availableParallelism } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { BatchExplainError } from '../errors.js';
import { removeStaleRuns, RunSorter, SortMemory } from '../core/sort/run-sorter.js';
import type { EntryBatch } from '../core/sort/entry-batch.js';
import { idJoin } from '../core/join/id-join.js';
import { PartialFileOutput, PartialTextFile, StreamOutput, writeChunks, type StagedOutput } from '../core/io/staged-output.js';
import type { MergedRow } from '../core/join/dataset-splicer.js';
import { mapEntries, readReject, readRejects } from '../core/join/join-steps.js';
import { hasPendingWork } from '../batch-api/manifest.js';
import { DEFAULT_SORT_MEMORY } from '../stages/reverse/external-sort.js';
import { datasetIdEntries } from '../stages/reverse/dataset-id-entries.js';
import { indexResultEntries, indexResultEntriesOnThread, type ResultIndexOnThread } from '../stages/reverse/index-result-entries.js';
import { sortEntries } from '../stages/reverse/sort-entries.js';
import { mergeJoinEntries } from '../stages/reverse/merge-join-entries.js';
import { resolveResults } from '../stages/reverse/resolve-results.js';
import { spliceIntoDataset } from '../stages/reverse/splice-into-dataset.js';
import type { Stage } from '../types.js';
import { composeStages } from '../core/flow/compose.js';
import type { MergeOptions, MergeStep } from './merge-options.js';
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
 * The library's reverse stages, composed in `pipeline`, each passing batches of entries (numeric
 * keys and payload bytes, core/sort/entry-batch.ts: a few hundred awaits for a million rows):
 *
 * 1. `datasetIdEntries`: the dataset's ids, read from the start of each line, keyed by the hash of
 *    their JSON literal, `sortEntries` by it;
 * 2. `indexResultEntries`: meanwhile, on a thread when they are large, the result lines indexed
 *    (id → file, offset) and their small pointers sorted the same way;
 * 3. `mergeJoinEntries` of the two (core/join/id-join.ts: ids whose hashes collide are told
 *    apart by their literals): each row gets the pointers of its results, or a reason; the rows
 *    are sorted by pointer, so that
 * 4. `resolveResults` reads the kept result lines, each once and in file order, and parses them,
 *    on threads (the usual success read as bytes, by result-scan.ts; any other line parsed); the
 *    explanations (as JSON literals) are sorted by dataset line and
 * 5. `spliceIntoDataset` splices them into the dataset's own bytes, row by row.
 *
 * The hot loops of steps 3 to 5 allocate nothing per row: the main thread's young generation
 * would otherwise grow to the CLI's 16 MB limit and stay there (ARCHITECTURE.md). Counts are
 * checked to add up.
 */
export async function merge(options: MergeOptions): Promise<MergeSummary> {
  if (options.dataset === '-') throw new BatchExplainError('E_OPTION', 'merge reads the dataset twice: give a file, not stdin');
  const field = options.field ?? 'generated_explanation';
  const memory = new SortMemory(options.sortMemory ?? DEFAULT_SORT_MEMORY);
  const errorsPath = options.errorsPath ?? defaultErrorsPath(options.output);
  const sources = await resultSources(options.results, options.manifest);
  const pending = options.manifest ? hasPendingWork(options.manifest.state) : false;
  const signal = options.signal;
  const resultBytes = sources.reduce((sum, s) => sum + s.size, 0);
  const counts = { rows: 0, explained: 0, byReason: {} as Record<string, number>, duplicateIdRows: 0, extraResults: 0, unmatchedResults: 0, badResultLines: 0 };
  const onBadLines = (n: number) => void (counts.badResultLines += n);
  const tmp = options.tmpDir ? { tmpDir: options.tmpDir } : {};
  // Each step is told as it starts: when the sort before it has taken all of its input.
  const after = (name: MergeStep) => tellAfter<EntryBatch>(name, options.onStep);

  // Runs of merges killed before they could clean up.
  removeStaleRuns(options.tmpDir);
  const out = openOutput(options);
  let errors: PartialTextFile;
  try {
    errors = new PartialTextFile(errorsPath);
  } catch (err) {
    // An errors file that cannot be made: the output's temporary file goes too.
    await out.discard();
    throw err;
  }
  const rejects = new RunSorter({ memoryBytes: memory.bytes, memory, ...tmp });
  let indexThread: ResultIndexOnThread | undefined;
  try {
    // The build's rejects, by line: the reason of rows never sent.
    if (options.rejectsPath) for (const r of readRejects(options.rejectsPath)) rejects.add(r.line, JSON.stringify([r.code, r.message]));
    rejects.flush();

    // The results' side of the join, sorted by hash. Large result files are indexed on a thread of
    // their own while the dataset's ids are read, each side sorting in half of the sort memory.
    let idsMemory = memory;
    let resultIndex: AsyncIterable<EntryBatch>;
    if ((options.indexThread ?? resultBytes >= PARSE_THREADS_FROM) && !options.idHash && memory.bytes >= 2 * MIN_HALF_BYTES) {
      const arena = memory.take();
      const half = Math.floor(arena.length / 16) * 8;
      // Half of the arena here, as much again on the thread (the other half of this one stays untouched until the thread is done).
      idsMemory = SortMemory.over(arena.subarray(0, half), memory.stage);
      indexThread = indexResultEntriesOnThread({ sources, memoryBytes: half, ...tmp, onBadLines, ...(signal ? { signal } : {}) });
      void indexThread.indexed.then(() => memory.give(arena), () => {});
      resultIndex = indexThread;
    } else {
      resultIndex = sortEntries({ memory, ...tmp })(indexResultEntries({ sources, onBadLines, ...(options.idHash ? { idHash: options.idHash } : {}) })({ ...(signal ? { signal } : {}) }), { ...(signal ? { signal } : {}) });
    }
    const threads = options.parseThreads ?? (resultBytes >= PARSE_THREADS_FROM ? Math.min(2, availableParallelism()) : 0);
    // Without the build's rejects, the splicer checks each line's JSON itself (the build's verdict is not known).
    const rejectsByLine = options.rejectsPath ? { rejects: mapEntries(rejects.sorted(), readReject) } : {};
    const onRow = (missing: MergedRow['missing']) => {
      counts.rows++;
      if (!missing) return void counts.explained++;
      counts.byReason[missing.reason] = (counts.byReason[missing.reason] ?? 0) + 1;
      errors.writeString(`${JSON.stringify(missing)}\n`);
    };

    options.onStep?.('dataset ids');
    await pipeline(
      datasetIdEntries({ dataset: options.dataset, ...(options.idHash ? { idHash: options.idHash } : {}) }),
      // 1 to 3: both sides sorted by hash, joined, the rows sorted by their results' pointers.
      composeStages(sortEntries({ memory: idsMemory, ...tmp, readOnThread: threads > 0 }), mergeJoinEntries({ right: after('join')(tellFirst(resultIndex, () => options.onStep?.('result index'))), join: idJoin(counts, pending) }), sortEntries({ memory, ...tmp })),
      // 4 and 5: the result lines read, their outcomes sorted by line and spliced.
      composeStages(
        after('results'),
        resolveResults({ sources: sources.map((s) => s.path), threads, ...(options.answerField ? { field: options.answerField } : {}), onBadLines }),
        sortEntries({ memory, ...tmp, readOnThread: threads > 0 }),
        after('output'),
        spliceIntoDataset({ dataset: options.dataset, field, ...rejectsByLine, readAhead: true, onRow }),
      ),
      writeChunks(out),
      signal ? { signal } : {},
    );
    await out.close();
    await errors.close();
  } catch (err) {
    await out.discard();
    await errors.discard();
    // The caller's reason, not the pipeline's AbortError.
    if (signal?.aborted) throw signal.reason ?? err;
    throw err;
  } finally {
    await indexThread?.close();
    rejects.dispose();
  }
  const missing = Object.values(counts.byReason).reduce((a, b) => a + b, 0);
  if (counts.explained + missing !== counts.rows) throw new BatchExplainError('E_COUNTS', `internal: ${counts.rows} rows but ${counts.explained} explained + ${missing} without`);
  return { ...counts, sources: sources.length, output: options.output, errorsPath };
}

/**
 * A pass-through stage that tells `onStep` that a step has begun: when the first batch comes
 * through, or the end when none does (the sort before it has taken all of its input either way).
 * The merge stops there when it is being stopped.
 */
function tellAfter<T>(name: MergeStep, onStep: MergeOptions['onStep']): Stage<T, T> {
  return async function* tellAfterStage(source, { signal } = {}) {
    let told = false;
    const tell = () => {
      if (told) return;
      told = true;
      onStep?.(name);
      signal?.throwIfAborted();
    };
    for await (const batch of source) {
      tell();
      yield batch;
    }
    tell();
  };
}

/** `source`, calling `onFirstPull` when it is first asked for an item (the join asks for the results' side once the dataset's is sorted). */
async function* tellFirst<T>(source: AsyncIterable<T>, onFirstPull: () => void): AsyncGenerator<T> {
  onFirstPull();
  yield* source;
}

/** The least half of the sort memory to index results on a thread with. */
const MIN_HALF_BYTES = 64 << 10;

/** Results of at least this many bytes are read on threads (below, starting them costs more than it saves). */
const PARSE_THREADS_FROM = 32 * 1024 * 1024;

function openOutput(options: MergeOptions): StagedOutput {
  if (options.outputStream) return new StreamOutput(options.outputStream);
  if (options.output === '-') return new StreamOutput(process.stdout);
  return new PartialFileOutput(options.output);
}
