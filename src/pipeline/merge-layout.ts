/**
 * The merge for datasets in other layouts than JSONL keyed by `id` (CSV, TSV, JSON, Parquet, or
 * another id field): the dataset's ids are written as a JSONL of `{"id"}` lines, each on the line
 * number of its row (so the build's rejects and the errors file name the dataset's own lines),
 * merged as any JSONL, and the merged rows written back beside a second reading of the dataset,
 * in its own layout (see core/dataset/layout-output.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { BatchExplainError } from '../errors.js';
import { mappedId, type JobMapping } from '../core/dataset/mapping.js';
import { fileLines } from '../core/io/file-lines.js';
import { PartialFileOutput, StreamOutput, type StagedOutput } from '../core/io/staged-output.js';
import { defaultErrorsPath, merge, type MergeOptions, type MergeSummary } from './merge.js';
import type { JsonlRecord } from '../types.js';

export interface DatasetMergeOptions extends MergeOptions {
  /** How the job reads its dataset (the manifest's `mapping`). Absent: JSONL keyed by `id`, merged as it is. */
  mapping?: JobMapping;
}

/** {@link merge} for a dataset in any layout; the merged output keeps it (CSV/TSV in → CSV/TSV out, JSON/Parquet in → JSONL, or JSON with an output named `.json`). */
export async function mergeDataset(options: DatasetMergeOptions): Promise<MergeSummary> {
  const { mapping, ...rest } = options;
  if (!mapping || (mapping.format === 'jsonl' && (mapping.idField ?? 'id') === 'id')) return merge(rest);
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

/** The dataset's records read again beside the merged id lines (one each, in order), written in the output's format. */
async function writeLayout(dataset: string, mapping: JobMapping, merged: string, field: string, output: string | NodeJS.WritableStream, signal?: AbortSignal): Promise<void> {
  const [{ readDataset }, { LayoutWriter, outputFormatOf }] = await Promise.all([import('./read-dataset.js'), import('../core/dataset/layout-output.js')]);
  const format = outputFormatOf(typeof output === 'string' ? output : '-', mapping.format);
  const out: StagedOutput = typeof output === 'string' && output !== '-' ? new PartialFileOutput(output) : new StreamOutput(typeof output === 'string' ? process.stdout : output);
  const writer = new LayoutWriter(format, field);
  const lines = fileLines(merged);
  let keyed = false;
  try {
    for await (const record of readDataset({ dataset, format: mapping.format, name: dataset, onReject: () => {} }) as AsyncIterable<JsonlRecord>) {
      signal?.throwIfAborted();
      const next = await lines.next();
      if (next.done) throw new BatchExplainError('E_COUNTS', `internal: the merge has fewer rows than ${dataset}`);
      const explanation = (JSON.parse(next.value.text) as Record<string, unknown>)[field];
      keyed ||= record.key !== undefined;
      out.write(Buffer.from(writer.row(record.value, typeof explanation === 'string' ? explanation : null, record.key)));
      if (out.full) await out.drain();
    }
    out.write(Buffer.from(writer.end(keyed)));
    await out.close();
  } catch (err) {
    await out.discard();
    throw err;
  } finally {
    await lines.return(undefined);
  }
}
