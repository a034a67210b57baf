/** The dataset reader for a format: JSONL, JSON, CSV, TSV or Parquet, each a stage of its own. */
import type { Readable } from 'node:stream';
import { BatchExplainError } from '../errors.js';
import { formatOf, type DatasetFormat } from '../core/dataset/formats.js';
import { readJsonl, type ReadJsonlStats } from '../stages/read-jsonl.js';
import { readJson } from '../stages/read-json.js';
import { readDelimited } from '../stages/read-delimited.js';
import { readParquet } from '../stages/read-parquet.js';
import type { OnReject } from '../types.js';

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
  switch (formatOf(dataset, options.format)) {
    case 'jsonl':
      return readJsonl({ ...source, name, onReject });
    case 'json':
      return readJson({ ...source, name, onReject });
    case 'csv':
      return readDelimited({ ...source, name, onReject, delimiter: ',' });
    case 'tsv':
      return readDelimited({ ...source, name, onReject, delimiter: '\t' });
    case 'parquet':
      if (stream || dataset === '-') throw new BatchExplainError('E_INPUT', 'a Parquet dataset is read from its end, so it cannot come from stdin or a pipe: save it to a file first');
      return readParquet({ path: dataset, name, onReject });
  }
}
