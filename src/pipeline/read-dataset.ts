/** The dataset reader for a format: JSONL, JSON, CSV, TSV or Parquet, each a stage of its own. */
import { Readable } from 'node:stream';
import { BatchExplainError } from '../errors.js';
import { formatOf, type DatasetFormat } from '../core/dataset/formats.js';
import { readJsonl, type ReadJsonlStats } from '../stages/read-jsonl.js';
import type { JsonlRecord, OnReject } from '../types.js';

export interface ReadDatasetOptions {
  /** The dataset file, or `-` for stdin. */
  dataset: string;
  /** An open stream to read instead (the name stays `dataset`); not for Parquet. */
  stream?: NodeJS.ReadableStream;
  /** Default: by the file's extension, JSONL otherwise and for stdin. */
  format?: DatasetFormat;
  name: string;
  onReject: OnReject;
}

/**
 * Records `{line, value}` (and `key` for a JSON object keyed by id) from a dataset in any format,
 * with the reader's counters as `stats`. `line` is the line for JSONL, CSV and TSV, the record's
 * number for JSON and the row's number for Parquet.
 */
export function readDataset(options: ReadDatasetOptions): Readable & { readonly stats: ReadJsonlStats } {
  const { dataset, stream, name, onReject } = options;
  const source = stream ? { stream } : { path: dataset };
  const format = formatOf(dataset, options.format);
  if (format === 'jsonl') return readJsonl({ ...source, name, onReject });
  if (format === 'parquet' && (stream || dataset === '-')) throw new BatchExplainError('E_INPUT', 'a Parquet dataset is read from its end, so it cannot come from stdin or a pipe: save it to a file first');
  // The other readers (stream-json, csv-parse, hyparquet) load when their first record is asked
  // for: every command imports this module, and a JSONL job should not pay for them.
  let reader: (Readable & { readonly stats: ReadJsonlStats }) | undefined;
  const open = async (): Promise<Readable & { readonly stats: ReadJsonlStats }> => {
    if (format === 'json') return (await import('../stages/read-json.js')).readJson({ ...source, name, onReject });
    if (format === 'parquet') return (await import('../stages/read-parquet.js')).readParquet({ path: dataset, name, onReject });
    return (await import('../stages/read-delimited.js')).readDelimited({ ...source, name, onReject, delimiter: format === 'csv' ? ',' : '\t' });
  };
  const none: ReadJsonlStats = { lines: 0, blank: 0, records: 0, rejected: 0, bytes: 0 };
  async function* records(): AsyncGenerator<JsonlRecord> {
    reader = await open();
    yield* reader as AsyncIterable<JsonlRecord>;
  }
  // A getter defined on the stream (Object.assign would copy the value it has now).
  return Object.defineProperty(Readable.from(records(), { objectMode: true, highWaterMark: 1 }), 'stats', { get: () => reader?.stats ?? none }) as Readable & { readonly stats: ReadJsonlStats };
}
