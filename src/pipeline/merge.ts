import { createWriteStream } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BatchExplainError } from '../errors.js';
import { PARTIAL_SUFFIX } from '../core/shard-file.js';
import { fileLines } from '../core/file-lines.js';
import { readJsonl } from '../stages/read-jsonl.js';
import type { ResultRecord, ResultSource } from '../stages/read-results.js';
import { indexResults, type ResultPointer } from '../stages/index-results.js';
import { ResultReader } from '../stages/resolve-results.js';
import { externalSort, DEFAULT_SORT_MEMORY } from '../stages/external-sort.js';
import { mergeJoin } from '../stages/merge-join.js';
import { mergeIntoDataset, type MergedRow, type RowOutcome } from '../stages/merge-into-dataset.js';
import type { Manifest } from './manifest.js';
import { composeStages } from '../core/compose.js';
import type { JsonlRecord } from '../types.js';
import { TERMINAL_STATUSES } from './retrieve.js';

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
  /** Memory of each sort, in bytes. Default 64 MiB. */
  sortMemory?: number;
  tmpDir?: string;
  signal?: AbortSignal;
}

/** The join's answer for one row: where its result line is, or why it has none. */
interface Joined {
  line: number;
  id: string;
  ptr?: ResultPointer;
  reason?: string;
  message?: string;
}

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

/** The id rule of `validateRow`: a non-empty string, or a safe integer as its string. */
export function datasetKey(value: unknown): string | null {
  const id = (value as { id?: unknown } | null)?.id;
  if (typeof id === 'string') return id.trim() === '' ? null : id;
  if (typeof id === 'number' && Number.isSafeInteger(id)) return String(id);
  return null;
}

/** Of several results for one id: a successful one wins, then the newest. */
export function pickResult(results: ResultRecord[]): ResultRecord | null {
  let best: ResultRecord | null = null;
  for (const r of results) {
    if (!best) best = r;
    else if ((r.explanation !== null) !== (best.explanation !== null)) best = r.explanation !== null ? r : best;
    else if (r.order > best.order) best = r;
  }
  return best;
}

/**
 * dataset + result files → the dataset with an explanation field on every row, in the dataset's
 * order, and an errors file naming every row without one and why. In bounded memory: results and
 * dataset keys are sorted by id (externalSort), joined (mergeJoin), sorted back by line, and
 * zipped into the dataset's own lines (mergeIntoDataset). Counts are checked to add up.
 */
export async function merge(options: MergeOptions): Promise<MergeSummary> {
  if (options.dataset === '-') throw new BatchExplainError('E_OPTION', 'merge reads the dataset twice: give a file, not stdin');
  const field = options.field ?? 'generated_explanation';
  const memoryBytes = options.sortMemory ?? DEFAULT_SORT_MEMORY;
  const sortBase = { memoryBytes, ...(options.tmpDir ? { tmpDir: options.tmpDir } : {}) };
  const errorsPath = options.errorsPath ?? (options.output === '-' ? 'merge-errors.jsonl' : `${options.output}.errors.jsonl`);
  const sources = await resultSources(options.results, options.manifest);
  const pending = options.manifest ? [...options.manifest.state.batches.values()].some((b) => !TERMINAL_STATUSES.has(b.status ?? '') || !b.downloaded) : false;

  const counts = { rows: 0, explained: 0, byReason: {} as Record<string, number>, duplicateIdRows: 0, extraResults: 0, unmatchedResults: 0, badResultLines: 0 };
  const reader = new ResultReader(sources, options.answerField);
  // Results are indexed, not parsed: only small pointers are sorted; each kept line is read once, at the end.
  const sortedPointers = externalSort<ResultPointer>({
    ...sortBase,
    key: (p) => p.id,
    serialize: (p) => JSON.stringify([p.id, p.src, p.offset, p.length, p.order]),
    deserialize: (line) => {
      const [id, src, offset, length, order] = JSON.parse(line) as [string, number, number, number, number];
      return { id, src, offset, length, order };
    },
  })(indexResults({ onBadLine: () => void counts.badResultLines++ })(fromArray(sources.map((s, index) => ({ ...s, index })))));

  const join = mergeJoin<{ id: string; line: number }, ResultPointer, Joined>({
    right: sortedPointers,
    leftKey: (k) => k.id,
    rightKey: (r) => r.id,
    join: (id, lefts, rights) => {
      if (lefts.length === 0) {
        counts.unmatchedResults += rights.length;
        return [];
      }
      if (rights.length > 1) counts.extraResults += rights.length - 1;
      if (lefts.length > 1) {
        counts.duplicateIdRows += lefts.length;
        const lines = lefts.map((l) => l.line);
        return lefts.map((l) => ({
          line: l.line,
          id,
          reason: 'duplicate_id',
          message: `id ${JSON.stringify(id)} is on ${lefts.length} lines (${lines.slice(0, 5).join(', ')}${lines.length > 5 ? ', …' : ''}): which answer belongs to which row cannot be told`,
        }));
      }
      const l = lefts[0]!;
      if (rights.length === 0) {
        return [{ line: l.line, id, reason: pending ? 'pending' : 'no_result', message: pending ? 'its batch is not finished or not downloaded yet' : 'no result line for this id' }];
      }
      if (rights.length === 1) return [{ line: l.line, id, ptr: rights[0]! }];
      // Several results (a resubmission, a repeat): read them to keep a success, then the newest.
      const records = rights.map((p) => ({ p, r: reader.read(p) })).filter((x): x is { p: ResultPointer; r: ResultRecord } => !('bad' in x.r));
      const best = pickResult(records.map((x) => x.r));
      return [{ line: l.line, id, ptr: best ? records.find((x) => x.r === best)!.p : rights.at(-1)! }];
    },
  });

  /** The join's answer for a row, made whole: the result line it points to is read and parsed. */
  async function* resolve(rows: AsyncIterable<Joined>): AsyncGenerator<RowOutcome> {
    for await (const j of rows) {
      if (!j.ptr) {
        yield { line: j.line, id: j.id, explanation: null, reason: j.reason!, ...(j.message ? { message: j.message } : {}) };
        continue;
      }
      const r = reader.read(j.ptr);
      if ('bad' in r) {
        counts.badResultLines++;
        yield { line: j.line, id: j.id, explanation: null, reason: 'no_result', message: `its result line is damaged (${r.bad}) at ${r.source}` };
      } else if (r.explanation !== null) {
        yield { line: j.line, id: j.id, explanation: r.explanation };
      } else {
        const e = r.error!;
        yield { line: j.line, id: j.id, explanation: null, reason: e.reason, ...(e.code || e.status ? { code: e.code ?? `http_${e.status}` } : {}), message: `${e.message} (${r.source})` };
      }
    }
  }

  const rejects = options.rejectsPath ? externalSort<{ line: number; code: string; message: string }>({ ...sortBase, key: (r) => r.line })(readRejects(options.rejectsPath)) : undefined;
  const out = openOutput(options);
  const errors = openFile(errorsPath);
  try {
    const keys = async function* (records: AsyncIterable<JsonlRecord>) {
      for await (const r of records) {
        const id = datasetKey(r.value);
        if (id !== null) yield { id, line: r.line };
      }
    };
    await pipeline(
      readJsonl({ path: options.dataset, onReject: () => {} }),
      composeStages(
        keys,
        externalSort<{ id: string; line: number }>({ ...sortBase, key: (k) => k.id }),
        join,
        externalSort<Joined>({
          ...sortBase,
          key: (o) => o.line,
          serialize: (o) => JSON.stringify(o.ptr ? [o.line, o.id, o.ptr.src, o.ptr.offset, o.ptr.length, o.ptr.order] : [o.line, o.id, o.reason, o.message ?? null]),
          deserialize: (text) => {
            const a = JSON.parse(text) as [number, string, ...unknown[]];
            return a.length === 6
              ? { line: a[0], id: a[1], ptr: { id: a[1], src: a[2] as number, offset: a[3] as number, length: a[4] as number, order: a[5] as number } }
              : { line: a[0], id: a[1], reason: a[2] as string, ...(a[3] === null ? {} : { message: a[3] as string }) };
          },
        }),
        resolve,
        mergeIntoDataset({ dataset: options.dataset, field, ...(rejects ? { rejects } : {}) }),
      ),
      async function write(rows: AsyncIterable<MergedRow>) {
        for await (const row of rows) {
          counts.rows++;
          await out.write(`${row.text}\n`);
          if (!row.missing) {
            counts.explained++;
            continue;
          }
          counts.byReason[row.missing.reason] = (counts.byReason[row.missing.reason] ?? 0) + 1;
          await errors.write(`${JSON.stringify(row.missing)}\n`);
        }
      },
      ...(options.signal ? [{ signal: options.signal }] : []),
    );
    await out.close();
    await errors.close();
  } catch (err) {
    await out.discard();
    await errors.discard();
    throw err;
  } finally {
    reader.close();
  }
  const missing = Object.values(counts.byReason).reduce((a, b) => a + b, 0);
  if (counts.explained + missing !== counts.rows) throw new BatchExplainError('E_COUNTS', `internal: ${counts.rows} rows but ${counts.explained} explained + ${missing} without`);
  return { ...counts, sources: sources.length, output: options.output, errorsPath };
}

async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

async function* readRejects(file: string): AsyncGenerator<{ line: number; code: string; message: string }> {
  for await (const { text } of fileLines(file)) {
    if (!text.trim()) continue;
    const r = JSON.parse(text) as { line?: number; code?: string; message?: string };
    if (typeof r.line === 'number') yield { line: r.line, code: r.code ?? 'rejected', message: r.message ?? '' };
  }
}

/**
 * The result files to read, oldest first: files of batches the manifest knows come in the order
 * the batches were created (a resubmission's after the first), then other files by time.
 */
export async function resultSources(paths: string[], manifest?: Manifest): Promise<ResultSource[]> {
  const files: string[] = [];
  for (const p of paths) {
    const s = await stat(p).catch(() => null);
    if (!s) throw new BatchExplainError('E_INPUT', `results: ${p}: no such file or folder`);
    if (s.isDirectory()) {
      for (const name of (await readdir(p)).sort()) if (name.endsWith('.jsonl') && !name.endsWith(PARTIAL_SUFFIX) && name !== 'manifest.jsonl') files.push(path.join(p, name));
    } else files.push(p);
  }
  const batchOrder = new Map([...(manifest?.state.batches.keys() ?? [])].map((id, i) => [id, i]));
  const withTimes = await Promise.all(files.map(async (f) => ({ f, mtime: (await stat(f)).mtimeMs, batch: batchOrder.get(path.basename(f).replace(/^batch_output_/, '').split('.')[0]!) })));
  withTimes.sort((a, b) => (a.batch ?? Infinity) - (b.batch ?? Infinity) || a.mtime - b.mtime || a.f.localeCompare(b.f));
  return withTimes.map((w, order) => ({ path: w.f, order }));
}

interface Output {
  write(text: string): Promise<void>;
  close(): Promise<void>;
  discard(): Promise<void>;
}

function openOutput(options: MergeOptions): Output {
  if (options.outputStream) return streamOutput(options.outputStream);
  if (options.output === '-') return streamOutput(process.stdout);
  return openFile(options.output);
}

function streamOutput(stream: NodeJS.WritableStream): Output {
  return {
    async write(text) {
      if (!stream.write(text)) await once(stream as NodeJS.EventEmitter, 'drain');
    },
    async close() {},
    async discard() {},
  };
}

/** A file written under a temporary name and renamed when complete. */
function openFile(file: string): Output {
  const partial = file + PARTIAL_SUFFIX;
  const out = createWriteStream(partial, { flush: true });
  let failure: Error | null = null;
  out.on('error', (err) => (failure ??= err));
  return {
    async write(text) {
      if (failure) throw failure;
      if (!out.write(text)) await Promise.race([once(out, 'drain'), once(out, 'error')]);
      if (failure) throw failure;
    },
    async close() {
      await new Promise<void>((resolve, reject) => out.end(() => (failure ? reject(failure) : resolve())));
      await rename(partial, file);
    },
    async discard() {
      out.destroy();
      await rm(partial, { force: true });
    },
  };
}
