import { statSync } from 'node:fs';
import type { BuildProgress } from '../src/pipeline/build.js';
import type { BatchState } from '../src/batch-api/manifest.js';
import { formatCount } from './format.js';
import { rate, type ProgressSample } from './progress.js';

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;

/**
 * A build's figures: rows read and their rate, MB of the dataset read (of its size: the percent
 * and ETA, for a file), shards and MB written, and `extra` (e.g. uploads).
 */
export function buildSampler(progress: BuildProgress, dataset: string, extra?: () => string): () => ProgressSample {
  const startedAt = Date.now();
  let size = 0;
  try {
    size = dataset === '-' ? 0 : statSync(dataset).size;
  } catch {
    // Not there (yet): the build itself says so.
  }
  return () => {
    const read = progress.read;
    const rows = read ? read.records + read.rejected : 0;
    const parts = [
      `${formatCount(rows)} rows (${formatCount(Math.round(rate(rows, startedAt)))}/s)`,
      `${mb(read?.bytes ?? 0)}${size ? ` of ${mb(size)}` : ''} read`,
      `${formatCount(progress.shards)} shard${progress.shards === 1 ? '' : 's'}, ${mb(progress.requestBytes)}`,
    ];
    const more = extra?.();
    if (more) parts.push(more);
    return { text: parts.join(' | '), ...(size > 0 ? { fraction: (read?.bytes ?? 0) / size } : {}) };
  };
}

/** Batches by status and their requests: done, failed, total (the fraction of requests finished). */
export function batchesSample(batches: readonly BatchState[]): ProgressSample {
  const byStatus = new Map<string, number>();
  let total = 0;
  let completed = 0;
  let failed = 0;
  for (const b of batches) {
    const status = b.requeued ? 're-queued' : (b.status ?? 'created');
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    total += b.requestCounts?.total ?? b.rows ?? 0;
    completed += b.requestCounts?.completed ?? 0;
    failed += b.requestCounts?.failed ?? 0;
  }
  const statuses = [...byStatus].map(([s, n]) => `${n} ${s}`).join(', ');
  const text = `${statuses || 'no batch'}; requests ${formatCount(completed)} done, ${formatCount(failed)} failed of ${formatCount(total)}`;
  return { text, ...(total > 0 ? { fraction: (completed + failed) / total } : {}) };
}

/**
 * Which step of a merge is running, and for how long. No fraction (so no bar and no ETA): the
 * steps differ in length by orders of magnitude.
 */
export function mergeSample(step: string | null, startedAt: number): ProgressSample {
  const seconds = Math.round((Date.now() - startedAt) / 1000);
  return { text: `step: ${step ?? 'starting'} | ${seconds}s` };
}
