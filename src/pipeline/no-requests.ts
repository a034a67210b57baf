import { open } from 'node:fs/promises';
import { BatchExplainError } from '../errors.js';
import { fieldsOfFirstRows, formatName, sniffFormat, type SniffedFormat } from '../core/dataset/dataset-sniff.js';
import { formatOf, type DatasetFormat } from '../core/dataset/formats.js';
import { missingFieldHint, type MissingField } from '../core/dataset/field-hint.js';
import type { FieldMapping } from '../core/dataset/mapping.js';
import type { RejectCounts } from '../stages/rejects-sink.js';

/** What {@link noRequestsError} reads of a build's summary (build.ts calls it: a type of its own, not build's). */
export interface RejectedBuild {
  rows: number;
  rejects: RejectCounts;
  rejectsPath: string;
}

/** How the build read the dataset: its format (given, or by extension) and its field mapping. */
export interface DatasetReading {
  format?: DatasetFormat;
  mapping?: FieldMapping;
}

/** The sniffed formats each reader takes. */
const READS: Record<DatasetFormat, readonly SniffedFormat[]> = {
  jsonl: ['jsonl'],
  json: ['json-array', 'json-object', 'jsonl'],
  csv: ['csv'],
  tsv: ['tsv'],
  parquet: ['parquet'],
};

/** The bytes read to tell a dataset's format and the fields of its first rows. */
const HEAD_BYTES = 64 * 1024;

/**
 * The failure of a build in which no row became a request: an empty dataset, or one whose every
 * row was rejected. It names the fields missing and those the first rows have, and the format the
 * file looks like (a CSV, a Parquet file, a JSON array are read as JSONL and fail line by line).
 */
export async function noRequestsError(dataset: string, summary: RejectedBuild, reading: DatasetReading = {}): Promise<BatchExplainError> {
  const head = dataset === '-' ? null : await readHead(dataset);
  const sniffed = head ? sniffFormat(head) : null;
  const used = formatOf(dataset, reading.format);
  const looks =
    sniffed && sniffed !== 'empty' && !READS[used].includes(sniffed)
      ? `; the file looks like ${formatName(sniffed)}, and it was read as ${used.toUpperCase()} (--format, or the file's extension, chooses the reader)`
      : '';
  if (summary.rows === 0) {
    return new BatchExplainError('E_NO_REQUESTS', `${dataset}: no rows: the dataset is empty${looks}; nothing to send`);
  }
  const byCode = Object.entries(summary.rejects.byCode)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const parts = [`no row of ${dataset} became a request: ${summary.rows} row${summary.rows === 1 ? '' : 's'}, all rejected (${byCode})${looks}`];
  // The fields of JSONL rows, read here; other readers' rejects name them already.
  const fields = head && used === 'jsonl' ? fieldsOfFirstRows(head) : [];
  const missing = requiredFields(reading.mapping).filter((m) => !fields.includes(m.field.split('.')[0]!));
  if (fields.length > 0 && missing.length > 0) parts.push(missingFieldHint(fields, missing));
  const first = summary.rejects.first[0];
  if (first) parts.push(`first: line ${first.line}: ${first.code} ${first.message}`);
  parts.push(`every row is in ${summary.rejectsPath}`);
  return new BatchExplainError('E_NO_REQUESTS', parts.join('; '));
}

/** The fields a row needs under `mapping` (top-level names; an image pattern needs no image field). */
function requiredFields(mapping: FieldMapping = {}): MissingField[] {
  return [
    { role: 'id', field: mapping.idField ?? 'id' },
    ...(mapping.imagePattern === undefined ? [{ role: 'image' as const, field: mapping.imageField ?? 'img_path' }] : []),
    { role: 'label', field: mapping.labelField ?? 'class_label' },
  ];
}

async function readHead(file: string): Promise<Buffer | null> {
  const handle = await open(file, 'r').catch(() => null);
  if (!handle) return null;
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await handle.read(buf, 0, HEAD_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } catch {
    // A pipe or a device: nothing to sniff.
    return null;
  } finally {
    await handle.close();
  }
}
