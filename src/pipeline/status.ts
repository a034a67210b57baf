import type OpenAI from 'openai';
import type { Manifest } from '../batch-api/manifest.js';
import { TERMINAL_STATUSES } from '../batch-api/manifest.js';
import { withRetry } from '../batch-api/retry.js';
import { refreshBatch } from '../batch-api/batch-refresh.js';

export interface BatchStatusRow {
  batchId: string;
  status: string;
  total: number;
  completed: number;
  failed: number;
  /** Seconds since the batch was created. */
  ageSeconds: number | null;
  shard?: string;
  downloaded: boolean;
  errors?: string;
  /** Failed on the token quota: its shard was re-queued for a new batch. */
  requeued?: boolean;
}

/**
 * The batches of a manifest, refreshed from the API; status changes are recorded in the manifest
 * (the log keeps what was seen). A batch that cannot be looked up is reported, not fatal.
 */
export async function batchStatus(client: OpenAI, manifest: Manifest, options: { signal?: AbortSignal; concurrency?: number } = {}): Promise<BatchStatusRow[]> {
  const states = [...manifest.state.batches.values()];
  const rows: BatchStatusRow[] = new Array(states.length);
  let next = 0;
  const work = async () => {
    for (let i = next++; i < states.length; i = next++) {
      const b = states[i]!;
      try {
        const batch = await refreshBatch(client, manifest, b, options.signal ? { signal: options.signal } : {});
        const c = batch.request_counts;
        rows[i] = {
          batchId: b.batchId,
          status: batch.status,
          total: c?.total ?? 0,
          completed: c?.completed ?? 0,
          failed: c?.failed ?? 0,
          ageSeconds: typeof batch.created_at === 'number' ? Math.max(0, Math.floor(Date.now() / 1000) - batch.created_at) : null,
          ...(b.shardPath ? { shard: b.shardPath } : {}),
          downloaded: b.downloaded !== undefined,
          ...(batch.errors?.data?.length ? { errors: batch.errors.data.map((e) => `${e.code}${e.line ? ` (line ${e.line})` : ''}: ${e.message}`).join('; ') } : {}),
          ...(b.requeued ? { requeued: true } : {}),
        };
      } catch (err) {
        rows[i] = {
          batchId: b.batchId,
          status: `unknown (${(err as Error).message})`,
          total: b.requestCounts?.total ?? 0,
          completed: b.requestCounts?.completed ?? 0,
          failed: b.requestCounts?.failed ?? 0,
          ageSeconds: null,
          ...(b.shardPath ? { shard: b.shardPath } : {}),
          downloaded: b.downloaded !== undefined,
        };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, states.length) }, work));
  return rows;
}

/** Cancels every tracked batch that is not finished (or only `ids`); returns what each answered. */
export async function cancelBatches(client: OpenAI, manifest: Manifest, ids?: string[]): Promise<Array<{ batchId: string; status: string }>> {
  const targets = ids ?? [...manifest.state.batches.values()].filter((b) => !TERMINAL_STATUSES.has(b.status ?? '')).map((b) => b.batchId);
  const out: Array<{ batchId: string; status: string }> = [];
  for (const id of targets) {
    try {
      const batch = await withRetry(() => client.batches.cancel(id));
      await manifest.append({ type: 'cancel_requested', batch_id: id });
      await manifest.append({ type: 'status', batch_id: id, status: batch.status });
      out.push({ batchId: id, status: batch.status });
    } catch (err) {
      out.push({ batchId: id, status: `not cancelled: ${(err as Error).message}` });
    }
  }
  return out;
}
