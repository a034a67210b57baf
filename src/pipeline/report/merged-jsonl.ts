/**
 * A merged output in another layout than JSONL (CSV, TSV, a JSON document, Parquet) as the JSONL
 * that `report` and `view` read (they index lines): its records written one a line into a
 * temporary folder, and merge's errors file renumbered to those lines.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatOf } from '../../core/dataset/formats.js';
import { LayoutWriter } from '../../core/dataset/layout-output.js';
import { fileLines } from '../../core/io/file-lines.js';
import { readDataset } from '../read-dataset.js';
import type { JsonlRecord } from '../../types.js';

export interface MergedJsonl {
  /** The JSONL to read: the input itself when it is JSONL. */
  input: string;
  errors?: string;
  /** Whether `input` is a converted copy (in a temporary folder that `dispose` removes). */
  converted: boolean;
  dispose(): Promise<void>;
}

export interface MergedJsonlOptions {
  /** The merged output; its format by its extension. */
  input: string;
  /** merge's errors file beside it: its entries name the dataset's lines, renumbered here to the copy's. */
  errors?: string;
  /** The explanation's field (an empty CSV/TSV cell is no explanation: null in the copy). */
  field: string;
  tmpDir?: string;
  signal?: AbortSignal;
}

/**
 * The merged output as JSONL: JSONL (and stdin) as it is; another format read record by record
 * (a keyed JSON object's key as `id` when a row has none, embedded bytes as base64) into a copy.
 * Rows without an explanation appear in the same order as the errors file's entries, so the
 * n-th such row takes the n-th entry, with the row's line in the copy. Memory: one record (one
 * row group for Parquet); disk: the copy.
 */
export async function mergedAsJsonl(options: MergedJsonlOptions): Promise<MergedJsonl> {
  const format = options.input === '-' ? 'jsonl' : formatOf(options.input);
  if (format === 'jsonl') return { input: options.input, ...(options.errors ? { errors: options.errors } : {}), converted: false, dispose: async () => {} };
  const dir = await mkdtemp(path.join(options.tmpDir ?? tmpdir(), 'be-merged-'));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const input = path.join(dir, `${path.basename(options.input)}.jsonl`);
    const errors = options.errors ? path.join(dir, 'errors.jsonl') : undefined;
    const out = createWriteStream(input);
    const errorsOut = errors ? createWriteStream(errors) : null;
    const entries = options.errors ? fileLines(options.errors)[Symbol.asyncIterator]() : null;
    const writer = new LayoutWriter('jsonl', null);
    const blankIsNull = format === 'csv' || format === 'tsv';
    let line = 0;
    try {
      for await (const record of readDataset({ dataset: options.input, format, name: options.input, onReject: () => {} }) as AsyncIterable<JsonlRecord>) {
        options.signal?.throwIfAborted();
        line++;
        const row = typeof record.value === 'object' && record.value !== null && !Array.isArray(record.value) ? (record.value as Record<string, unknown>) : { value: record.value };
        let explanation = row[options.field];
        if (blankIsNull && explanation === '') explanation = null;
        if (!out.write(writer.row({ ...row, [options.field]: explanation ?? null }, null, record.key))) await once(out, 'drain');
        if (typeof explanation === 'string' || !entries) continue;
        let next = await entries.next();
        while (!next.done && next.value.text.trim() === '') next = await entries.next();
        if (next.done) continue; // fewer entries than rows without one: report and view say so
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(next.value.text) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (!errorsOut!.write(`${JSON.stringify({ ...entry, line })}\n`)) await once(errorsOut!, 'drain');
      }
    } finally {
      await entries?.return?.(undefined);
      out.end();
      errorsOut?.end();
      await Promise.all([once(out, 'close'), errorsOut ? once(errorsOut, 'close') : null]);
    }
    return { input, ...(errors ? { errors } : {}), converted: true, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
