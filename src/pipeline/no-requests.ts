import { open } from 'node:fs/promises';
import { BatchExplainError } from '../errors.js';
import { fieldsOfFirstRows, formatName, REQUIRED_FIELDS, sniffFormat } from '../core/dataset-sniff.js';
import type { BuildSummary } from './build.js';

/** The bytes read to tell a dataset's format and the fields of its first rows. */
const HEAD_BYTES = 64 * 1024;

/**
 * The failure of a build in which no row became a request: an empty dataset, or one whose every
 * row was rejected. It names the fields missing and those the first rows have, and the format the
 * file looks like (a CSV, a Parquet file, a JSON array are read as JSONL and fail line by line).
 */
export async function noRequestsError(dataset: string, summary: BuildSummary): Promise<BatchExplainError> {
  const head = dataset === '-' ? null : await readHead(dataset);
  const format = head ? sniffFormat(head) : null;
  const looks = format && format !== 'jsonl' && format !== 'empty' ? `; the file looks like ${formatName(format)}, and rows are read as JSONL (one JSON object a line)` : '';
  if (summary.rows === 0) {
    return new BatchExplainError('E_NO_REQUESTS', `${dataset}: no rows: the dataset is empty${looks}; nothing to send`);
  }
  const byCode = Object.entries(summary.rejects.byCode)
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const parts = [`no row of ${dataset} became a request: ${summary.rows} row${summary.rows === 1 ? '' : 's'}, all rejected (${byCode})${looks}`];
  const fields = head ? fieldsOfFirstRows(head) : [];
  const missing = REQUIRED_FIELDS.filter((f) => !fields.includes(f));
  if (fields.length > 0 && missing.length > 0) {
    parts.push(`no ${missing.map((f) => `\`${f}\``).join(', ')}: the rows have ${fields.join(', ')} (rows need id, img_path and class_label; text is optional)`);
  }
  const first = summary.rejects.first[0];
  if (first) parts.push(`first: line ${first.line}: ${first.code} ${first.message}`);
  parts.push(`every row is in ${summary.rejectsPath}`);
  return new BatchExplainError('E_NO_REQUESTS', parts.join('; '));
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
