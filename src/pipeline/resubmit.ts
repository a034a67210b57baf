import { createWriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { discardFileStream } from '../core/io/discard-file-stream.js';
import { once } from 'node:events';
import path from 'node:path';
import { BatchExplainError } from '../errors.js';
import { fileLines } from '../core/io/file-lines.js';
import { datasetKey, lineKey } from '../core/join/join-keys.js';
import { formatOf } from '../core/dataset/formats.js';
import { mappedId } from '../core/dataset/mapping.js';
import { writeSelectedRecords } from './resubmit-rows.js';
import { PARTIAL_SUFFIX } from '../core/shards/shard-file.js';
import { NOT_RESUBMITTED } from '../core/join/reasons.js';
import { Manifest } from '../batch-api/manifest.js';
import { submit, type SubmitOptions, type SubmitSummary } from './submit.js';

export { NOT_RESUBMITTED, RETRYABLE } from '../core/join/reasons.js';

export interface ResubmitOptions extends Omit<SubmitOptions, 'round' | 'jobDataset'> {
  /** `merge`'s errors file, or its merged output (every row whose field is null, whatever the reason). Exactly one of `from` and `ids`. */
  from?: string;
  /**
   * An ids file: a line per row to send again, `{"id": ...}` (what `report --flagged` and the
   * viewer's export write) or the bare id; those rows go again whatever their state (an explained
   * row flagged by `report` too). Held in memory, one entry per id.
   */
  ids?: string;
  /** Reasons to resubmit. Default: every reason but not_sent, duplicate_id and pending. */
  reasons?: string[];
  /** The field `from` has when it is a merged output. Default `generated_explanation`. */
  field?: string;
  /** Only `api_error`s with these HTTP statuses (e.g. 429, 5xx) count; default any. */
  retryableStatusOnly?: boolean;
}

export interface ResubmitSummary {
  round: number;
  /** Rows sent again (0: nothing to do, no round made). */
  rows: number;
  dataset: string | null;
  submitted: SubmitSummary | null;
  /** With `ids`: ids of the file that no dataset row has. */
  idsNotFound?: number;
}

/**
 * Rows without an explanation → a new round of the same job: their dataset lines are copied
 * (unchanged) into `<outDir>/round-N.dataset.jsonl` (for a dataset in another format, its records
 * are written in that format: `round-N.dataset.csv`, `.json`, `.parquet`; resubmit-rows.ts), read
 * through the job's recorded mapping, built into `rN_batch_*.jsonl` shards with the
 * job's settings and submitted into the same manifest, so the next `retrieve` + `merge` folds the
 * answers in (a success wins over a failure, then the newest). A round interrupted before its
 * build finished is resumed, not redone.
 */
export async function resubmit(options: ResubmitOptions): Promise<ResubmitSummary> {
  const manifestPath = options.manifestPath ?? path.join(options.outDir, 'manifest.jsonl');
  const peek = await Manifest.open(manifestPath);
  const rounds = [...peek.state.rounds.keys()];
  const last = rounds.length ? Math.max(...rounds) : 0;
  const unfinished = last > 0 && !peek.state.builds.has(last) ? peek.state.rounds.get(last)! : undefined;
  if (!peek.state.run) {
    await peek.close();
    throw new BatchExplainError('E_INPUT', `${manifestPath}: no submission recorded: resubmit adds a round to a job that submit started`);
  }
  if ((options.from === undefined) === (options.ids === undefined)) {
    await peek.close();
    throw new BatchExplainError('E_OPTION', 'resubmit takes exactly one of from (an errors file or merged output) and ids (an ids file)');
  }
  // The layout the job recorded, unless one is given.
  const recorded = peek.state.run.mapping;
  const { format: given, ...fields } = options.mapping === undefined && options.format === undefined && recorded ? recorded : { format: options.format, ...options.mapping };
  const format = formatOf(options.dataset, given);
  if (format === 'parquet' && options.dataset === '-') {
    await peek.close();
    throw new BatchExplainError('E_OPTION', 'resubmit reads the dataset again: a Parquet dataset must be a file');
  }
  let round: number;
  let dataset: string;
  let rows: number;
  let ids: Map<string, boolean> | undefined;
  if (unfinished) {
    ({ round, dataset, rows } = unfinished);
  } else {
    round = last + 1;
    // The rows go again in the dataset's own format (JSONL lines are copied as they are).
    dataset = path.join(options.outDir, `round-${round}.dataset.${format}`);
    const reasons = new Set(options.reasons ?? []);
    const wanted = (reason: string, code?: string) => {
      if (options.reasons ? !reasons.has(reason) : NOT_RESUBMITTED.includes(reason)) return false;
      if (options.retryableStatusOnly && reason === 'api_error' && code && !/^(http_)?(408|409|429|5\d\d)$/.test(code) && !/^(rate_limit|server_error|timeout)/.test(code)) return false;
      return true;
    };
    ids = options.ids === undefined ? undefined : await readIds(options.ids);
    const field = options.field ?? 'generated_explanation';
    rows =
      format === 'jsonl'
        ? await writeSelectedRows(options.dataset, (options.from ?? options.ids)!, dataset, wanted, field, ids, fields.idField)
        : await writeSelectedRecords({ dataset: options.dataset, mapping: { format, ...fields }, target: dataset, ...(options.from === undefined ? {} : { from: options.from }), ...(ids ? { ids } : {}), wanted, field, ...(options.signal ? { signal: options.signal } : {}) });
    if (rows > 0) await peek.append({ type: 'round', round, dataset, rows, reasons: ids ? ['ids'] : (options.reasons ?? ['*']) });
  }
  await peek.close();
  const notFound = ids ? { idsNotFound: [...ids.values()].filter((found) => !found).length } : {};
  if (rows === 0) return { round, rows: 0, dataset: null, submitted: null, ...notFound };
  const submitted = await submit({ ...options, mapping: fields, format, dataset, jobDataset: options.dataset, round, manifestPath });
  return { round, rows, dataset, submitted, ...notFound };
}

/**
 * Copies the dataset lines to resubmit into `target` (temporary name, then rename) and returns
 * how many. `from` is an errors file (`{line, reason}` in line order) or a merged output (one line
 * per non-blank dataset line, in order): both are walked beside the dataset, in constant memory.
 * With `ids` (an ids file read by `readIds`), the rows whose id is there, each marked found.
 */
async function writeSelectedRows(datasetPath: string, from: string, target: string, wanted: (reason: string, code?: string) => boolean, field: string, ids?: Map<string, boolean>, idField = 'id'): Promise<number> {
  const partial = target + PARTIAL_SUFFIX;
  const out = createWriteStream(partial, { flush: true });
  let rows = 0;
  const write = async (text: string) => {
    rows++;
    if (!out.write(`${text}\n`)) await once(out, 'drain');
  };
  const picks = (ids ? (async function* () {})() : fileLines(from))[Symbol.asyncIterator]();
  let pick = await picks.next();
  while (!pick.done && pick.value.text.trim() === '') pick = await picks.next();
  const first = pick.done ? null : (JSON.parse(pick.value.text) as Record<string, unknown>);
  const errorsFile = first !== null && typeof first.reason === 'string' && typeof first.line === 'number';
  try {
    for await (const { line, text } of fileLines(datasetPath)) {
      const row = line === 1 && text.startsWith('\uFEFF') ? text.slice(1) : text;
      if (row.trim() === '') continue;
      if (ids) {
        const id = idField === 'id' ? lineKey(row) : idOfLine(row, idField);
        if (id !== null && ids.has(id)) {
          ids.set(id, true);
          await write(row);
        }
      } else if (errorsFile) {
        while (!pick.done) {
          const e = JSON.parse(pick.value.text) as { line: number; reason: string; code?: string };
          if (e.line > line) break;
          pick = await picks.next();
          if (e.line === line && wanted(e.reason, e.code)) await write(row);
        }
      } else {
        // A merged output: its next line is this row, with the field. A line that is no row has none
        // there: merge leaves lines that are not JSON objects out (not_json), and the merge of
        // another id field (merge-layout.ts) the lines its reader refuses (not JSON).
        if (!mergedHasRow(row, idField)) continue;
        if (pick.done) throw new BatchExplainError('E_INPUT', `${from} has fewer rows than ${datasetPath}: is it the merge of this dataset?`);
        let merged: Record<string, unknown> | null = null;
        try {
          merged = JSON.parse(pick.value.text);
        } catch {}
        pick = await picks.next();
        // A merged output holds no reasons: every row left without an explanation goes again.
        if (merged && typeof merged === 'object' && merged[field] === null) await write(row);
      }
    }
    out.end();
    await once(out, 'finish');
  } catch (err) {
    await discardFileStream(out, partial);
    throw err;
  } finally {
    await picks.return?.(undefined);
  }
  await rename(partial, target);
  return rows;
}

/** Whether merge wrote a line of the merged output for this dataset line (see writeSelectedRows). */
function mergedHasRow(text: string, idField: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  return idField !== 'id' || (typeof value === 'object' && value !== null && !Array.isArray(value));
}

/** A JSONL line's id through another id field than `id` (null when the line is not an object, or has none). */
function idOfLine(text: string, idField: string): string | null {
  try {
    return mappedId(JSON.parse(text), undefined, idField);
  } catch {
    return null;
  }
}

/**
 * An ids file → its ids: a line `{"id": ...}` (more fields allowed; the dataset's rule, `datasetKey`),
 * a JSON string, or the bare id as text (`1e3` is the id "1e3", not 1000).
 */
async function readIds(file: string): Promise<Map<string, boolean>> {
  const ids = new Map<string, boolean>();
  for await (const { line, text } of fileLines(file)) {
    const t = text.replace(/^\uFEFF/, '').trim();
    if (t === '') continue;
    let id: string | null = t;
    if (t.startsWith('{') || t.startsWith('"')) {
      try {
        const v = JSON.parse(t) as unknown;
        id = datasetKey(typeof v === 'string' ? { id: v } : v);
      } catch {} // not JSON: the bare id
    }
    if (id === null) throw new BatchExplainError('E_INPUT', `${file} line ${line}: no id (expected {"id": "..."} or the id alone)`);
    ids.set(id, false);
  }
  return ids;
}
