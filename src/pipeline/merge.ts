import { availableParallelism } from 'node:os';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { BatchExplainError } from '../errors.js';
import { PARTIAL_SUFFIX } from '../core/shard-file.js';
import { bufferLines, type LineView } from '../core/sync-lines.js';
import { hashBytes } from '../core/id-key.js';
import { addDatasetKeys, addResultKeys, CHECK_EVERY, literalId, readDatasetKey, readPointerKey, type DatasetKey, type PointerKey } from '../core/join-keys.js';
import { indexResultsOnThread } from '../core/result-index-thread.js';
import { readDecimal } from '../core/decimal.js';
import { RunSorter, SortMemory, type SortedEntry } from '../core/run-sorter.js';
import { PartialFileOutput, PartialTextFile, StreamOutput, type StagedOutput } from '../core/staged-output.js';
import { ResultParsePool } from '../core/result-parse-pool.js';
import { failurePayload, frameResultLine, readFailure } from '../core/result-batch.js';
import type { ResultSource } from '../stages/read-results.js';
import { DEFAULT_SORT_MEMORY } from '../stages/external-sort.js';
import { mergeJoinSync } from '../stages/merge-join.js';
import { DatasetSplicer, type MergedRow, type SpliceOutcome } from '../stages/merge-into-dataset.js';
import type { Manifest } from './manifest.js';
import { TERMINAL_STATUSES } from './manifest.js';

export interface MergeOptions {
  /** The dataset file (read twice: it cannot be stdin). */
  dataset: string;
  /** Result files, or folders holding them (`*.jsonl`: our `<batch>.output.jsonl`/`.errors.jsonl`, the original `batch_output_*.jsonl`, vLLM's output). */
  results: string[];
  /** Where the merged dataset goes: a file (written to a temporary name, then renamed) or `-` for stdout. */
  output: string;
  /** A stream instead of `output` (library use). */
  outputStream?: NodeJS.WritableStream;
  /** Every row without an explanation, and why. Default `<output>.errors.jsonl` (`merge-errors.jsonl` for stdout). */
  errorsPath?: string;
  /** The build's rejects file: the reason of rows never sent. */
  rejectsPath?: string;
  /** The job's manifest: batch order (newest result wins) and batches still running (`pending`). */
  manifest?: Manifest;
  /** The field added to each row. Default `generated_explanation`. */
  field?: string;
  /** The JSON field of the explanation in the answers. Default `explanation`. */
  answerField?: string;
  /** Memory of the sorts (one at a time), in bytes. Default 64 MiB. */
  sortMemory?: number;
  /** Threads parsing result lines. Default 2 (at most the cores) for results of 32 MiB and more, else 0 (the calling thread). */
  parseThreads?: number;
  /** Index the result files on a thread of their own while the dataset's ids are read. Default: for results of 32 MiB and more. */
  indexThread?: boolean;
  /** Told as each step starts (for progress lines). */
  onStep?: (step: MergeStep) => void;
  /** The join key of an id literal's bytes. Default a 52-bit hash; ids whose keys collide are still told apart (tests pass a constant to prove it). */
  idHash?: (buf: Buffer, start: number, end: number) => number;
  tmpDir?: string;
  signal?: AbortSignal;
}

export type MergeStep = 'dataset ids' | 'result index' | 'join' | 'results' | 'output';

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

/**
 * dataset + result files → the dataset with an explanation field on every row, in the dataset's
 * order, and an errors file naming every row without one and why. In bounded memory (one sort
 * arena of `sortMemory` at a time) and with sequential reads only (random reads of a large file
 * fall out of the page cache on our VMs):
 *
 * 1. dataset ids are read from the start of each line and sorted by id;
 * 2. result lines are indexed (id → file, offset) and the small pointers sorted by id;
 * 3. the two are joined (mergeJoin): each row gets the pointers of its results, or a reason;
 *    the rows are sorted by pointer, so that
 * 4. the result files are read front to back, each kept line parsed once, on parse threads;
 *    the explanations (as JSON literals) are sorted by dataset line and
 * 5. spliced into the dataset's own bytes, row by row.
 *
 * The sorts run on {@link RunSorter} directly, synchronously: the merge passes millions of
 * entries per step, where a promise each would cost more than the work. Counts are checked to
 * add up.
 */
export async function merge(options: MergeOptions): Promise<MergeSummary> {
  if (options.dataset === '-') throw new BatchExplainError('E_OPTION', 'merge reads the dataset twice: give a file, not stdin');
  const field = options.field ?? 'generated_explanation';
  const memory = new SortMemory(options.sortMemory ?? DEFAULT_SORT_MEMORY);
  const errorsPath = options.errorsPath ?? (options.output === '-' ? 'merge-errors.jsonl' : `${options.output}.errors.jsonl`);
  const sources = await resultSources(options.results, options.manifest);
  const pending = options.manifest ? [...options.manifest.state.batches.values()].some((b) => !TERMINAL_STATUSES.has(b.status ?? '') || !b.downloaded) : false;
  const signal = options.signal;
  const idHash = options.idHash ?? hashBytes;
  const resultBytes = sources.reduce((sum, s) => sum + s.size, 0);
  const counts = { rows: 0, explained: 0, byReason: {} as Record<string, number>, duplicateIdRows: 0, extraResults: 0, unmatchedResults: 0, badResultLines: 0 };

  const sorters: RunSorter[] = [];
  const sorter = () => {
    const s = new RunSorter({ memoryBytes: memory.bytes, memory, ...(options.tmpDir ? { tmpDir: options.tmpDir } : {}) });
    sorters.push(s);
    return s;
  };
  const out = openOutput(options);
  const errors = new PartialTextFile(errorsPath);
  let pool: ResultParsePool | undefined;
  try {
    // The build's rejects, by line: the reason of rows never sent.
    const rejects = sorter();
    if (options.rejectsPath) for (const r of readRejects(options.rejectsPath)) rejects.add(r.line, JSON.stringify([r.code, r.message]));
    rejects.flush();

    // 1. Dataset ids, and 2. result pointers, as join entries. Large result files are indexed on
    // a thread of their own meanwhile, each side sorting in half of the sort memory.
    const tmp = options.tmpDir ? { tmpDir: options.tmpDir } : {};
    let keys: RunSorter;
    let pointers: RunSorter;
    if ((options.indexThread ?? resultBytes >= PARSE_THREADS_FROM) && !options.idHash && memory.bytes >= 2 * MIN_HALF_BYTES) {
      const arena = memory.take();
      const half = Math.floor(arena.length / 16) * 8;
      const stopIndex = new AbortController();
      // Half of the arena here, as much again on the thread (the other half of this one stays untouched).
      const indexing = indexResultsOnThread(sources, { memoryBytes: half, ...tmp }, signal ? AbortSignal.any([signal, stopIndex.signal]) : stopIndex.signal);
      indexing.catch(() => {}); // awaited below
      options.onStep?.('dataset ids');
      try {
        keys = new RunSorter({ memoryBytes: half, memory: SortMemory.over(arena.subarray(0, half)), ...tmp });
        sorters.push(keys);
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
      sorters.push(pointers);
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
    const joinId = (literal: string, lefts: DatasetKey[], rights: PointerKey[]): Array<{ key: number; payload: string }> => {
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
    const rows = mergeJoinSync(mapEntries(keys.sorted(), readDatasetKey), mapEntries(pointers.sorted(), readPointerKey), {
      leftKey: (k: DatasetKey) => k.hash,
      rightKey: (p: PointerKey) => p.hash,
      join: (_hash, lefts, rights) => {
        const only = lefts[0]?.literal ?? rights[0]!.literal;
        if (lefts.every((l) => l.literal === only) && rights.every((r) => r.literal === only)) return joinId(only, lefts, rights);
        // A hash collision: one join per id.
        const byId = new Map<string, { lefts: DatasetKey[]; rights: PointerKey[] }>();
        const group = (literal: string) => byId.get(literal) ?? byId.set(literal, { lefts: [], rights: [] }).get(literal)!;
        for (const l of lefts) group(l.literal).lefts.push(l);
        for (const r of rights) group(r.literal).rights.push(r);
        return [...byId].flatMap(([literal, g]) => joinId(literal, g.lefts, g.rights));
      },
    });
    let n = 0;
    for (const j of rows) {
      joined.add(j.key, j.payload);
      if (++n % CHECK_EVERY === 0) signal?.throwIfAborted();
    }
    joined.flush();

    // 4. Result lines read in file order and parsed; outcomes by dataset line.
    options.onStep?.('results');
    const outcomes = sorter();
    pool = new ResultParsePool({ threads: options.parseThreads ?? (resultBytes >= PARSE_THREADS_FROM ? Math.min(2, availableParallelism()) : 0), batchBytes: BATCH_BYTES, sources: sources.map((s) => s.path), ...(options.answerField ? { field: options.answerField } : {}) });
    counts.badResultLines += await resolveResults(joined.sorted(), sources, pool, outcomes, signal);
    outcomes.flush();
    // The threads' heaps stay resident until they exit.
    await pool.close();

    // 5. The dataset, row by row, with its outcome.
    options.onStep?.('output');
    const splicer = new DatasetSplicer({ dataset: options.dataset, field, rejects: mapEntries(rejects.sorted(), readReject) });
    try {
      for (const row of splicedRows(splicer, outcomes.sorted())) {
        counts.rows++;
        for (const part of row.parts) out.write(part);
        out.write(NEWLINE);
        if (row.missing) {
          counts.byReason[row.missing.reason] = (counts.byReason[row.missing.reason] ?? 0) + 1;
          errors.writeString(`${JSON.stringify(row.missing)}\n`);
        } else counts.explained++;
        if (out.full) await out.drain();
        if (counts.rows % CHECK_EVERY === 0) signal?.throwIfAborted();
      }
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

/** Results of at least this many bytes are parsed on threads (below, starting them costs more than it saves). */
const PARSE_THREADS_FROM = 32 * 1024 * 1024;
/** The least half of the sort memory to index results on a thread with. */
const MIN_HALF_BYTES = 64 << 10;
/** Framed result lines per parse batch, in bytes. */
const BATCH_BYTES = 256 << 10;
const NEWLINE = Buffer.from('\n');

function* mapEntries<T>(entries: Iterable<SortedEntry>, map: (e: SortedEntry) => T): Generator<T> {
  for (const e of entries) yield map(e);
}

function readReject(e: SortedEntry): { line: number; code: string; message: string } {
  const [code, message] = JSON.parse(e.buf.toString('utf8', e.start, e.end)) as [string, string];
  return { line: e.key as number, code, message };
}

/**
 * Step 4: the joined rows, in file order, against the result files read front to back. Rows
 * with no result go straight to the outcomes; the result lines of the others are framed into
 * batches for the parse pool, whose replies are added to the outcomes as they come. Returns the
 * number of lines that were not result lines.
 */
async function resolveResults(rows: Iterable<SortedEntry>, sources: Array<ResultSource & { size: number }>, pool: ResultParsePool, outcomes: RunSorter, signal?: AbortSignal): Promise<number> {
  let bad = 0;
  let failure: unknown = null;
  const inflight: Array<Promise<void>> = [];
  const addOutcomes = ({ out, bad: b }: { out: Buffer; bad: number }) => {
    bad += b;
    for (let at = 0; at < out.length; ) {
      const nl = out.indexOf(10, at);
      const tab = out.indexOf(9, at);
      outcomes.addBytes(readDecimal(out, at, tab), out, tab + 1, nl);
      at = nl + 1;
    }
    pool.recycle(out);
  };
  let batch = pool.batch();
  let used = 0;
  const send = async () => {
    if (used === 0) return;
    if (inflight.length >= pool.capacity) await inflight.shift();
    if (failure) throw failure;
    inflight.push(pool.parse(batch, used).then(addOutcomes, (err: unknown) => void (failure ??= err)));
    batch = pool.batch();
    used = 0;
    signal?.throwIfAborted();
  };
  // One scanner per result file, at the line last asked for.
  const scanners = new Map<number, { lines: Generator<LineView>; at: LineView | null }>();
  try {
    for (const e of rows) {
      const tab = e.buf.indexOf(9, e.start);
      const hasTab = tab !== -1 && tab < e.end;
      const line = Number(e.buf.toString('latin1', e.start, hasTab ? tab : e.end));
      if (e.key === -1) {
        outcomes.addBytes(line, e.buf, tab + 1, e.end);
        continue;
      }
      const key = e.key as number;
      const src = Math.floor(key / 2 ** 40);
      const offset = key - src * 2 ** 40;
      const order = hasTab ? Number(e.buf.toString('latin1', tab + 1, e.end)) : null;
      let s = scanners.get(src);
      if (!s) scanners.set(src, (s = { lines: bufferLines(sources[src]!.path), at: null }));
      while (!s.at || s.at.offset < offset) {
        const next = s.lines.next();
        if (next.done) break;
        s.at = next.value;
      }
      if (!s.at || s.at.offset !== offset) {
        bad++;
        const failure = failurePayload('', 'no_result', null, `its result line is gone from ${sources[src]!.path} at byte ${offset} (was the file changed during the merge?)`);
        outcomes.add(line, order === null ? failure : `*${order}\t${failure}`);
        continue;
      }
      let size = frameResultLine(batch, used, line, src, offset, order, s.at.buf, s.at.start, s.at.end);
      if (size === -1) {
        await send();
        if (s.at.end - s.at.start + 64 > batch.length) batch = Buffer.allocUnsafeSlow(s.at.end - s.at.start + 64);
        size = frameResultLine(batch, used, line, src, offset, order, s.at.buf, s.at.start, s.at.end);
      }
      used += size;
      if (used >= BATCH_BYTES - 4096) await send();
    }
    await send();
    while (inflight.length > 0) await inflight.shift();
    if (failure) throw failure;
  } finally {
    for (const s of scanners.values()) s.lines.return(undefined);
    // Replies still coming are let go; their failures were caught above.
    await Promise.allSettled(inflight);
  }
  return bad;
}

/**
 * Step 5: the outcomes sorted by line, folded into the dataset's rows. A row with several
 * outcomes (`*<order>` entries, a resubmission's) keeps a success, then the newest.
 */
function* splicedRows(splicer: DatasetSplicer, sorted: Iterable<SortedEntry>): Generator<MergedRow> {
  const it = sorted[Symbol.iterator]();
  let e = it.next();
  try {
    while (!e.done) {
      const line = e.value.key as number;
      const { buf, start, end } = e.value;
      let outcome: SpliceOutcome;
      if (buf[start] !== STAR) {
        outcome = toOutcome(buf, start, end);
        e = it.next();
      } else {
        // Candidates: copy the best so far (entries are views that the next one overwrites).
        let best: { ok: boolean; order: number; bytes: Buffer } | null = null;
        for (; !e.done && e.value.key === line; e = it.next()) {
          const v = e.value;
          const tab = v.buf.indexOf(9, v.start);
          const order = Number(v.buf.toString('latin1', v.start + 1, tab));
          const ok = v.buf[tab + 1] === QUOTE;
          if (!best || (ok && !best.ok) || (ok === best.ok && order > best.order)) best = { ok, order, bytes: Buffer.from(v.buf.subarray(tab + 1, v.end)) };
        }
        outcome = toOutcome(best!.bytes, 0, best!.bytes.length);
      }
      yield* splicer.upTo(line, outcome);
    }
    yield* splicer.rest();
  } finally {
    it.return?.();
  }
}

function toOutcome(buf: Buffer, start: number, end: number): SpliceOutcome {
  return buf[start] === QUOTE ? { json: buf.subarray(start, end) } : readFailure(buf, start, end);
}

const STAR = 0x2a;
const QUOTE = 0x22;

/** The build's rejects file (`{line, code, message}` lines). */
function* readRejects(file: string): Generator<{ line: number; code: string; message: string }> {
  for (const v of bufferLines(file)) {
    const text = v.buf.toString('utf8', v.start, v.end);
    if (!text.trim()) continue;
    let r: { line?: unknown; code?: unknown; message?: unknown };
    try {
      r = JSON.parse(text) as typeof r;
    } catch {
      throw new BatchExplainError('E_INPUT', `${file}:${v.line}: not JSON: not a rejects file of ours`);
    }
    if (typeof r.line === 'number') yield { line: r.line, code: typeof r.code === 'string' ? r.code : 'rejected', message: typeof r.message === 'string' ? r.message : '' };
  }
}

/**
 * The result files to read, oldest first: files of batches the manifest knows come in the order
 * the batches were created (a resubmission's after the first), then other files by time.
 */
export async function resultSources(paths: string[], manifest?: Manifest): Promise<Array<ResultSource & { size: number }>> {
  const files: string[] = [];
  for (const p of paths) {
    const s = await stat(p).catch(() => null);
    if (!s) throw new BatchExplainError('E_INPUT', `results: ${p}: no such file or folder`);
    if (s.isDirectory()) {
      for (const name of (await readdir(p)).sort()) if (name.endsWith('.jsonl') && !name.endsWith(PARTIAL_SUFFIX) && name !== 'manifest.jsonl') files.push(path.join(p, name));
    } else files.push(p);
  }
  const batchOrder = new Map([...(manifest?.state.batches.keys() ?? [])].map((id, i) => [id, i]));
  const withTimes = await Promise.all(files.map(async (f) => ({ f, ...(await stat(f).then((s) => ({ mtime: s.mtimeMs, size: s.size }))), batch: batchOrder.get(path.basename(f).replace(/^batch_output_/, '').split('.')[0]!) })));
  withTimes.sort((a, b) => (a.batch ?? Infinity) - (b.batch ?? Infinity) || a.mtime - b.mtime || a.f.localeCompare(b.f));
  return withTimes.map((w, order) => ({ path: w.f, order, size: w.size }));
}

function openOutput(options: MergeOptions): StagedOutput {
  if (options.outputStream) return new StreamOutput(options.outputStream);
  if (options.output === '-') return new StreamOutput(process.stdout);
  return new PartialFileOutput(options.output);
}
