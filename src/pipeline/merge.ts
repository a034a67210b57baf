import { createWriteStream } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BatchExplainError } from '../errors.js';
import { PARTIAL_SUFFIX } from '../core/shard-file.js';
import { fileLines } from '../core/file-lines.js';
import { bufferLines, type LineView } from '../core/sync-lines.js';
import { leadingField } from '../core/leading-field.js';
import { readJsonl } from '../stages/read-jsonl.js';
import { resultFromLine, type ResultRecord, type ResultSource } from '../stages/read-results.js';
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
 * order, and an errors file naming every row without one and why. In bounded memory, with
 * sequential reads only (random reads of a large file fall out of the page cache on our VMs):
 *
 * 1. result lines are indexed (id → file, offset) and the small pointers sorted by id;
 * 2. dataset ids are read and sorted by id; the two are joined (mergeJoin): each row gets the
 *    pointer of its result (a success before a failure, then the newest);
 * 3. the joined rows are sorted by pointer, so the result files are read front to back, each
 *    kept line parsed once (parseExplanation);
 * 4. the explanations are sorted back by dataset line and spliced into the dataset's own bytes.
 *
 * Counts are checked to add up.
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

  // 1. Pointers to result lines, sorted by id.
  const sortedPointers = externalSort<ResultPointer>({
    ...sortBase,
    key: (p) => p.id,
    serialize: (p) => `${p.src}\t${p.offset}\t${p.length}\t${p.order}\t${JSON.stringify(p.id)}`,
    deserialize: (line) => {
      const [src, offset, length, order] = line.split('\t', 4).map(Number) as [number, number, number, number];
      return { src, offset, length, order, id: JSON.parse(line.slice(nthTab(line, 4) + 1)) as string };
    },
  })(indexResults({ onBadLine: () => void counts.badResultLines++ })(fromArray(sources.map((s, index) => ({ ...s, index })))));

  // 2. Dataset ids joined with them.
  const join = mergeJoin<DatasetKey, ResultPointer, Joined>({
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
      // Several results (a resubmission, a repeat): read them (rare) to keep a success, then the newest.
      const records = rights.map((p) => ({ p, r: reader.read(p) })).filter((x): x is { p: ResultPointer; r: ResultRecord } => !('bad' in x.r));
      const best = pickResult(records.map((x) => x.r));
      return [{ line: l.line, id, ptr: best ? records.find((x) => x.r === best)!.p : rights.at(-1)! }];
    },
  });

  // 3. Result lines read in file order, each kept one parsed once.
  async function* resolve(rows: AsyncIterable<Joined>): AsyncGenerator<RowOutcome> {
    const scanners = new Map<number, { lines: Generator<LineView>; at: LineView | null }>();
    const lineAt = (ptr: ResultPointer): string | null => {
      let s = scanners.get(ptr.src);
      if (!s) scanners.set(ptr.src, (s = { lines: bufferLines(sources[ptr.src]!.path), at: null }));
      while (!s.at || s.at.offset < ptr.offset) {
        const next = s.lines.next();
        if (next.done) return null;
        s.at = next.value;
      }
      return s.at.offset === ptr.offset ? s.at.buf.toString('utf8', s.at.start, s.at.end) : null;
    };
    try {
      for await (const j of rows) {
        if (!j.ptr) {
          yield { line: j.line, id: j.id, explanation: null, reason: j.reason!, ...(j.message ? { message: j.message } : {}) };
          continue;
        }
        const text = lineAt(j.ptr);
        const where = `${sources[j.ptr.src]!.path}@${j.ptr.offset}`;
        const r = text === null ? { bad: 'the file changed since it was indexed' } : resultFromLine(text, { source: where, order: j.ptr.order }, options.answerField);
        if ('bad' in r) {
          counts.badResultLines++;
          yield { line: j.line, id: j.id, explanation: null, reason: 'no_result', message: `its result line is damaged (${r.bad}) at ${where}` };
        } else if (r.explanation !== null) {
          yield { line: j.line, id: j.id, explanation: r.explanation };
        } else {
          const e = r.error!;
          yield { line: j.line, id: j.id, explanation: null, reason: e.reason, ...(e.code || e.status ? { code: e.code ?? `http_${e.status}` } : {}), message: `${e.message} (${where})` };
        }
      }
    } finally {
      for (const s of scanners.values()) s.lines.return(undefined);
    }
  }

  const rejects = options.rejectsPath ? externalSort<{ line: number; code: string; message: string }>({ ...sortBase, key: (r) => r.line })(readRejects(options.rejectsPath)) : undefined;
  const out = openOutput(options);
  const errors = openFile(errorsPath);
  try {
    await pipeline(
      datasetKeys(options.dataset),
      composeStages(
        externalSort<DatasetKey>({ ...sortBase, key: (k) => k.id, serialize: (k) => `${k.line}\t${JSON.stringify(k.id)}`, deserialize: (t) => ({ line: Number(t.slice(0, t.indexOf('\t'))), id: JSON.parse(t.slice(t.indexOf('\t') + 1)) as string }) }),
        join,
        externalSort<Joined>({
          ...sortBase,
          // Rows with no result first (key -1), then by file and offset: the files are read front to back.
          key: (j) => (j.ptr ? j.ptr.src * 2 ** 40 + j.ptr.offset : -1),
          serialize: (j) => JSON.stringify(j.ptr ? [j.line, j.id, j.ptr.src, j.ptr.offset, j.ptr.length, j.ptr.order] : [j.line, j.id, j.reason, j.message ?? null]),
          deserialize: (text) => {
            const a = JSON.parse(text) as [number, string, ...unknown[]];
            return a.length === 6
              ? { line: a[0], id: a[1], ptr: { id: a[1], src: a[2] as number, offset: a[3] as number, length: a[4] as number, order: a[5] as number } }
              : { line: a[0], id: a[1], reason: a[2] as string, ...(a[3] === null ? {} : { message: a[3] as string }) };
          },
        }),
        resolve,
        externalSort<RowOutcome>({
          ...sortBase,
          key: (o) => o.line,
          // An explanation travels as its JSON literal and is spliced into the output as it is.
          serialize: (o) =>
            o.explanation !== null || o.explanationJson !== undefined
              ? `${o.line}\t${o.explanationJson ?? JSON.stringify(o.explanation)}`
              : `${o.line}\t!${JSON.stringify([o.id, o.reason ?? 'no_result', o.code ?? null, o.message ?? null])}`,
          deserialize: (t) => {
            const tab = t.indexOf('\t');
            const line = Number(t.slice(0, tab));
            if (t[tab + 1] !== '!') return { line, id: '', explanation: null, explanationJson: t.slice(tab + 1) };
            const [id, reason, code, message] = JSON.parse(t.slice(tab + 2)) as [string, string, string | null, string | null];
            return { line, id, explanation: null, reason, ...(code === null ? {} : { code }), ...(message === null ? {} : { message }) };
          },
        }),
        mergeIntoDataset({ dataset: options.dataset, field, ...(rejects ? { rejects } : {}) }),
      ),
      async function write(rows: AsyncIterable<MergedRow>) {
        for await (const row of rows) {
          counts.rows++;
          for (const part of row.parts) await out.write(part);
          await out.write(NEWLINE);
          if (!row.missing) {
            counts.explained++;
            continue;
          }
          counts.byReason[row.missing.reason] = (counts.byReason[row.missing.reason] ?? 0) + 1;
          await errors.write(Buffer.from(`${JSON.stringify(row.missing)}\n`));
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

const NEWLINE = Buffer.from('\n');

interface DatasetKey {
  id: string;
  line: number;
}

/** Position of the n-th tab (1-based) in a line. */
function nthTab(line: string, n: number): number {
  let i = -1;
  for (let k = 0; k < n; k++) i = line.indexOf('\t', i + 1);
  return i;
}

/** `{"id": ` at the start of most dataset lines: the id is read from there without parsing the row. */
const ID_FIRST = /^\s*\{\s*"id"\s*:\s*/;

/**
 * The dataset's keyed rows: `{id, line}` for every row with a usable id (the rule of
 * validateRow), read synchronously; the id is taken from the start of the line when it is there,
 * else the line is parsed.
 */
async function* datasetKeys(file: string): AsyncGenerator<DatasetKey> {
  for (const v of bufferLines(file)) {
    let start = v.start;
    if (v.line === 1 && v.buf[start] === 0xef && v.buf[start + 1] === 0xbb && v.buf[start + 2] === 0xbf) start += 3;
    if (start >= v.end) continue;
    let id: unknown = leadingField(v.buf, start, v.end, ID_FIRST);
    if (id === undefined) {
      try {
        id = (JSON.parse(v.buf.toString('utf8', start, v.end)) as { id?: unknown } | null)?.id;
      } catch {
        continue;
      }
    }
    const key = datasetKey({ id });
    if (key !== null) yield { id: key, line: v.line };
  }
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
  write(chunk: Buffer): Promise<void>;
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
    async write(chunk) {
      if (!stream.write(chunk)) await once(stream as NodeJS.EventEmitter, 'drain');
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
    async write(chunk) {
      if (failure) throw failure;
      // `once` rejects if 'error' comes first, and removes its listeners either way.
      if (!out.write(chunk)) await once(out, 'drain');
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
