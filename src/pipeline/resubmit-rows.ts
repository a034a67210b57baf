/**
 * A resubmission's rows for a dataset that is not JSONL keyed by `id` (CSV, TSV, JSON, Parquet,
 * or another id field): the records to send again, chosen through the job's mapping, written as
 * a dataset of the same format (round-N.dataset.csv, .json, .parquet...), so that the round is
 * built as the first one was: the same mapping, images embedded in Parquet rows kept as bytes.
 */
import { BatchExplainError } from '../errors.js';
import { mappedId, type JobMapping } from '../core/dataset/mapping.js';
import { formatOf } from '../core/dataset/formats.js';
import { fileLines } from '../core/io/file-lines.js';
import { openRowWriter } from './merge-layout.js';
import { readDataset } from './read-dataset.js';
import type { JsonlRecord } from '../types.js';

export interface SelectRecordsOptions {
  /** The job's dataset and how the job reads it (the manifest's mapping). */
  dataset: string;
  mapping: JobMapping;
  /** Where the chosen rows go (written under a temporary name, then renamed), in the dataset's format. */
  target: string;
  /** merge's errors file (`{line, reason}` in line order), or its merged output (in any layout). */
  from?: string;
  /** Or the ids to send again, each marked found when a row has it. */
  ids?: Map<string, boolean>;
  /** Whether a row that failed for `reason` (with its `code`) goes again. */
  wanted: (reason: string, code?: string) => boolean;
  /** The explanation's field in a merged output. */
  field: string;
  signal?: AbortSignal;
}

/**
 * Walks the dataset's records (as the build read them: a record refused by its reader has no
 * row to send) beside the errors file, the merged output or against the ids, and writes the
 * chosen ones; returns how many. Memory: one record (one row group for Parquet), and the ids.
 */
export async function writeSelectedRecords(options: SelectRecordsOptions): Promise<number> {
  const { dataset, mapping, ids, field } = options;
  const records = (): AsyncIterable<JsonlRecord> => readDataset({ dataset, format: mapping.format, name: dataset, onReject: () => {} }) as AsyncIterable<JsonlRecord>;
  const writer = await openRowWriter({ dataset, mapping, format: mapping.format, field: null, output: options.target, ...(options.signal ? { signal: options.signal } : {}) });
  const choose = ids ? null : await chooser(options);
  let rows = 0;
  let keyed = false;
  try {
    for await (const record of records()) {
      options.signal?.throwIfAborted();
      keyed ||= record.key !== undefined;
      let take: boolean;
      if (ids) {
        const id = mappedId(record.value, record.key, mapping.idField);
        take = id !== null && ids.has(id);
        if (take) ids.set(id!, true);
      } else take = await choose!.next(record);
      if (!take) continue;
      rows++;
      writer.row(record.value, null, record.key);
      if (writer.full) await writer.drain();
    }
    await writer.close(keyed);
  } catch (err) {
    await writer.discard();
    throw err;
  } finally {
    await choose?.close();
  }
  return rows;
}

/** Says of each dataset record, in order, whether it goes again: by the errors file's lines, or by the merged output's empty field. */
async function chooser(options: SelectRecordsOptions): Promise<{ next(record: JsonlRecord): Promise<boolean>; close(): Promise<void> }> {
  const from = options.from!;
  // An errors file is JSONL whose first line has a `reason` and a `line`; anything else is a merged output.
  const lines = fileLines(from)[Symbol.asyncIterator]();
  let pick = await lines.next();
  while (!pick.done && pick.value.text.trim() === '') pick = await lines.next();
  let first: unknown = null;
  try {
    first = pick.done ? null : JSON.parse(pick.value.text);
  } catch {} // not JSONL: a merged CSV, TSV or Parquet file
  const errorsFile = typeof first === 'object' && first !== null && typeof (first as { reason?: unknown }).reason === 'string' && typeof (first as { line?: unknown }).line === 'number';
  if (errorsFile) {
    return {
      async next(record) {
        let take = false;
        while (!pick.done) {
          if (pick.value.text.trim() === '') {
            pick = await lines.next();
            continue;
          }
          const e = JSON.parse(pick.value.text) as { line: number; reason: string; code?: string };
          if (e.line > record.line) break;
          pick = await lines.next();
          if (e.line === record.line && options.wanted(e.reason, e.code)) take = true;
        }
        return take;
      },
      close: async () => void (await lines.return?.(undefined)),
    };
  }
  await lines.return?.(undefined);
  // A merged output holds no reasons: every row left without an explanation goes again. It has
  // one record per record of the dataset, in order (merge-layout.ts writes it so).
  const merged = readDataset({ dataset: from, format: formatOf(from), name: from, onReject: () => {} })[Symbol.asyncIterator]() as AsyncIterator<JsonlRecord>;
  return {
    async next() {
      const row = await merged.next();
      if (row.done) throw new BatchExplainError('E_INPUT', `${from} has fewer rows than ${options.dataset}: is it the merge of this dataset?`);
      const value = typeof row.value.value === 'object' && row.value.value !== null ? (row.value.value as Record<string, unknown>)[options.field] : undefined;
      // Null in JSON and Parquet, an empty cell in CSV and TSV.
      return value === null || value === undefined || value === '';
    },
    close: async () => void (await merged.return?.(undefined)),
  };
}
