/**
 * The merge for datasets in other layouts than JSONL keyed by `id` (CSV, TSV, JSON, Parquet, or
 * another id field): the dataset's ids are written as a JSONL of `{"id"}` lines, each on the line
 * number of its row (so the build's rejects and the errors file name the dataset's own lines),
 * merged as any JSONL, and the merged rows written back beside a second reading of the dataset,
 * in its own layout (see core/dataset/layout-output.ts), or as Parquet for an output named
 * `.parquet` (core/dataset/parquet-output.ts: the input Parquet file's schema, or one guessed from
 * a first extra reading of the rows, with the explanation as one more column).
 */
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { BatchExplainError } from '../errors.js';
import { mappedId, type JobMapping } from '../core/dataset/mapping.js';
import { formatOf } from '../core/dataset/formats.js';
import { fileLines } from '../core/io/file-lines.js';
import { PartialFileOutput, StreamOutput, type StagedOutput } from '../core/io/staged-output.js';
import { SyncFileWriter } from '../core/io/sync-writer.js';
import { PARTIAL_SUFFIX } from '../core/shards/shard-file.js';
import type { OutputFormat } from '../core/dataset/layout-output.js';
import { defaultErrorsPath, merge, type MergeOptions, type MergeSummary } from './merge.js';
import type { JsonlRecord } from '../types.js';

export interface DatasetMergeOptions extends MergeOptions {
  /** How the job reads its dataset (the manifest's `mapping`). Absent: JSONL keyed by `id`, merged as it is. */
  mapping?: JobMapping;
}

/** {@link merge} for a dataset in any layout; the merged output keeps it (CSV/TSV in → CSV/TSV out, JSON/Parquet in → JSONL, or JSON or Parquet with an output named `.json` or `.parquet`). */
export async function mergeDataset(options: DatasetMergeOptions): Promise<MergeSummary> {
  const { mapping: given, ...rest } = options;
  const toParquet = typeof options.output === 'string' && options.output.toLowerCase().endsWith('.parquet');
  if (!toParquet && (!given || (given.format === 'jsonl' && (given.idField ?? 'id') === 'id'))) return merge(rest);
  // A JSONL dataset keyed by `id` goes this way only to become Parquet.
  const mapping: JobMapping = given ?? { format: formatOf(options.dataset) };
  if (options.dataset === '-') throw new BatchExplainError('E_OPTION', 'merge reads the dataset twice: it cannot be stdin');
  const tmp = await mkdtemp(path.join(options.tmpDir ?? tmpdir(), 'be-layout-'));
  try {
    const ids = path.join(tmp, 'ids.jsonl');
    await writeIds(options.dataset, mapping, ids);
    const merged = path.join(tmp, 'merged.jsonl');
    const summary = await merge({ ...rest, dataset: ids, output: merged, errorsPath: options.errorsPath ?? defaultErrorsPath(options.output) });
    const { outputStream: _ignored, ...target } = options;
    await writeLayout(options.dataset, mapping, merged, options.field ?? 'generated_explanation', options.outputStream ?? target.output, options.signal);
    return { ...summary, output: options.output };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Each record's id as `{"id": "..."}` (or `{}` when it has none) on the record's own line number. */
async function writeIds(dataset: string, mapping: JobMapping, file: string): Promise<void> {
  // The readers (stream-json, csv-parse, hyparquet) load only for a dataset that needs them: a JSONL merge stays as light as before.
  const { readDataset } = await import('./read-dataset.js');
  const out = createWriteStream(file);
  let line = 0;
  // Records the reader refuses are in the build's rejects already: here they leave their lines blank.
  for await (const record of readDataset({ dataset, format: mapping.format, name: dataset, onReject: () => {} }) as AsyncIterable<JsonlRecord>) {
    const id = mappedId(record.value, record.key, mapping.idField);
    const text = `${'\n'.repeat(Math.max(0, record.line - line - 1))}${id === null ? '{}' : JSON.stringify({ id })}\n`;
    line = Math.max(line + 1, record.line);
    if (!out.write(text)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Where merged rows go, one at a time, in the output's format; `full`: await `drain` before the next. */
export interface RowWriter {
  row(value: unknown, explanation: string | null, key?: string): void;
  readonly full: boolean;
  drain(): Promise<void>;
  /** Ends the output (`keyed`: the rows came with keys) and puts the file in place. */
  close(keyed: boolean): Promise<void>;
  discard(): Promise<void>;
}

/** The dataset's records read again beside the merged id lines (one each, in order), written in the output's format. */
async function writeLayout(dataset: string, mapping: JobMapping, merged: string, field: string, output: string | NodeJS.WritableStream, signal?: AbortSignal): Promise<void> {
  const [{ readDataset }, { outputFormatOf }] = await Promise.all([import('./read-dataset.js'), import('../core/dataset/layout-output.js')]);
  const format = outputFormatOf(typeof output === 'string' ? output : '-', mapping.format);
  const writer = await openRowWriter({ dataset, mapping, format, field, output, ...(signal ? { signal } : {}) });
  const lines = fileLines(merged);
  let keyed = false;
  try {
    for await (const record of readDataset({ dataset, format: mapping.format, name: dataset, onReject: () => {} }) as AsyncIterable<JsonlRecord>) {
      signal?.throwIfAborted();
      const next = await lines.next();
      if (next.done) throw new BatchExplainError('E_COUNTS', `internal: the merge has fewer rows than ${dataset}`);
      const explanation = (JSON.parse(next.value.text) as Record<string, unknown>)[field];
      keyed ||= record.key !== undefined;
      writer.row(record.value, typeof explanation === 'string' ? explanation : null, record.key);
      if (writer.full) await writer.drain();
    }
    await writer.close(keyed);
  } catch (err) {
    await writer.discard();
    throw err;
  } finally {
    await lines.return(undefined);
  }
}

/**
 * A writer of a dataset's rows in a format, with the explanation as one more field (`field`), or
 * as they are (`field` null: a resubmission's rows in their dataset's own format).
 */
export async function openRowWriter(options: { dataset: string; mapping: JobMapping; format: OutputFormat; field: string | null; output: string | NodeJS.WritableStream; signal?: AbortSignal }): Promise<RowWriter> {
  const { format, field, output } = options;
  return format === 'parquet' ? parquetWriter(options.dataset, options.mapping, field, output, options.signal) : textWriter(format, field, output);
}

/** A text format's writer (JSONL, JSON, CSV, TSV) into a staged output. */
async function textWriter(format: Exclude<OutputFormat, 'parquet'>, field: string | null, output: string | NodeJS.WritableStream): Promise<RowWriter> {
  const { LayoutWriter } = await import('../core/dataset/layout-output.js');
  const out = stagedOutput(output);
  const text = new LayoutWriter(format, field);
  return {
    row: (value, explanation, key) => out.write(Buffer.from(text.row(value, explanation, key))),
    get full() {
      return out.full;
    },
    drain: () => out.drain(),
    close: async (keyed) => {
      out.write(Buffer.from(text.end(keyed)));
      await out.close();
    },
    discard: () => out.discard(),
  };
}

function stagedOutput(output: string | NodeJS.WritableStream): StagedOutput {
  return typeof output === 'string' && output !== '-' ? new PartialFileOutput(output) : new StreamOutput(typeof output === 'string' ? process.stdout : output);
}

/**
 * The Parquet writer of a merged output: the schema is the input Parquet file's, or for other
 * formats guessed from a reading of every row first (one entry per column held). A row group is
 * encoded in one synchronous step, so a file is written synchronously as it is encoded (through
 * a 1 MiB stage, under a temporary name, then renamed): staged for an asynchronous write, the
 * whole group's bytes would be held once more (bench/parquet-output.mjs).
 */
async function parquetWriter(dataset: string, mapping: JobMapping, field: string | null, output: string | NodeJS.WritableStream, signal?: AbortSignal): Promise<RowWriter> {
  const [{ ParquetOutput }, { SchemaGuess, schemaWithExplanation, keyedRow }] = await Promise.all([import('../core/dataset/parquet-output.js'), import('../core/dataset/parquet-schema.js')]);
  const fromParquet = mapping.format === 'parquet';
  let schema;
  if (fromParquet) schema = schemaWithExplanation(await (await import('../stages/read-parquet.js')).parquetSchemaOf(dataset), field);
  else {
    const { readDataset } = await import('./read-dataset.js');
    const guess = new SchemaGuess();
    for await (const record of readDataset({ dataset, format: mapping.format, name: dataset, onReject: () => {} }) as AsyncIterable<JsonlRecord>) {
      signal?.throwIfAborted();
      guess.observe(keyedRow(record.value, record.key));
    }
    schema = guess.schema(field);
  }
  if (typeof output === 'string' && output !== '-') {
    const partial = output + PARTIAL_SUFFIX;
    const file = new SyncFileWriter(partial);
    const parquet = new ParquetOutput({ schema, field, fromParquet, sink: (b) => file.write(Buffer.from(b.buffer, b.byteOffset, b.byteLength)) });
    return {
      row: (value, explanation, key) => parquet.row(value, explanation, key),
      full: false,
      drain: async () => {},
      close: async () => {
        parquet.end();
        file.close({ sync: true });
        await rename(partial, output);
      },
      discard: async () => {
        file.abandon();
        await rm(partial, { force: true });
      },
    };
  }
  const out = stagedOutput(output);
  const parquet = new ParquetOutput({ schema, field, fromParquet, sink: (b) => out.write(Buffer.from(b.buffer, b.byteOffset, b.byteLength)) });
  return {
    row: (value, explanation, key) => parquet.row(value, explanation, key),
    get full() {
      return out.full;
    },
    drain: () => out.drain(),
    close: async () => {
      parquet.end();
      await out.close();
    },
    discard: () => out.discard(),
  };
}
