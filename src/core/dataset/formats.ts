/** Dataset formats and how one is chosen from a file's name. */

export type DatasetFormat = 'jsonl' | 'json' | 'csv' | 'tsv' | 'parquet';
export const DATASET_FORMATS: readonly DatasetFormat[] = ['jsonl', 'json', 'csv', 'tsv', 'parquet'];

const BY_EXTENSION: Record<string, DatasetFormat> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'json',
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.tab': 'tsv',
  '.parquet': 'parquet',
};

/**
 * The format of a dataset: the one given, else by extension (a `.gz`-less name, case ignored),
 * else JSONL (stdin, and files of other names, as before formats existed).
 */
export function formatOf(dataset: string, given?: DatasetFormat): DatasetFormat {
  if (given !== undefined) return given;
  if (dataset === '-') return 'jsonl';
  const dot = dataset.lastIndexOf('.');
  return (dot >= 0 && BY_EXTENSION[dataset.slice(dot).toLowerCase()]) || 'jsonl';
}
