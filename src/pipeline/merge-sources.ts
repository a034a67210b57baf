// The merge's inputs: which result files, in which order (the manifest's batch order, then time).
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { BatchExplainError } from '../errors.js';
import { PARTIAL_SUFFIX } from '../core/shards/shard-file.js';
import type { ResultSource } from '../core/results/result-line.js';
import type { Manifest } from '../batch-api/manifest.js';

/** Result files: the files named, and the `*.jsonl` files of the folders named (not partial downloads, nor a manifest). */
export async function listResultFiles(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const p of paths) {
    const s = await stat(p).catch(() => null);
    if (!s) throw new BatchExplainError('E_INPUT', `results: ${p}: no such file or folder`);
    if (s.isDirectory()) {
      for (const name of (await readdir(p)).sort()) if (name.endsWith('.jsonl') && !name.endsWith(PARTIAL_SUFFIX) && name !== 'manifest.jsonl') files.push(path.join(p, name));
    } else files.push(p);
  }
  return files;
}

/** The batch a result file is of, from its name (`<batch>.output.jsonl`, the original `batch_output_<batch>.jsonl`). */
export function batchIdOfFile(file: string): string {
  return path.basename(file).replace(/^batch_output_/, '').split('.')[0]!;
}

/**
 * The result files to read, oldest first: files of batches the manifest knows come in the order
 * the batches were created (a resubmission's after the first), then other files by time.
 */
export async function resultSources(paths: string[], manifest?: Manifest): Promise<Array<ResultSource & { size: number }>> {
  const files = await listResultFiles(paths);
  const batchOrder = new Map([...(manifest?.state.batches.keys() ?? [])].map((id, i) => [id, i]));
  const withTimes = await Promise.all(files.map(async (f) => ({ f, ...(await stat(f).then((s) => ({ mtime: s.mtimeMs, size: s.size }))), batch: batchOrder.get(batchIdOfFile(f)) })));
  withTimes.sort((a, b) => (a.batch ?? Infinity) - (b.batch ?? Infinity) || a.mtime - b.mtime || a.f.localeCompare(b.f));
  return withTimes.map((w, order) => ({ path: w.f, order, size: w.size }));
}

