import type OpenAI from 'openai';
import { callSignal } from '../core/flow/call-signal.js';
import { roundField, shardKey, type BatchState, type Manifest } from './manifest.js';
import { withRetry, type RetryOptions } from './retry.js';

/** The code of the Batch API's enqueued-token quota failure (OpenAI and Azure alike). */
export const TOKEN_LIMIT_CODE = 'token_limit_exceeded';

/**
 * A `batches.create` refused on the enqueued-token quota: Azure's fail-fast regions answer 400
 * `token_limit_exceeded`, some clients saw it as a 429. Never transient in the retry sense: the
 * shard waits for quota instead (see QuotaGate).
 */
export function isTokenLimitError(err: unknown): boolean {
  const e = err as { code?: unknown; error?: { code?: unknown }; message?: unknown };
  if (e?.code === TOKEN_LIMIT_CODE || e?.error?.code === TOKEN_LIMIT_CODE) return true;
  return typeof e?.message === 'string' && (e.message.includes(TOKEN_LIMIT_CODE) || /enqueued token limit/i.test(e.message));
}

/** The quota failure of a batch that failed after validation, if that is why it failed. */
export function tokenLimitFailure(batch: { status: string; errors?: { data?: Array<{ code?: string; message?: string }> } | null }): string | null {
  if (batch.status !== 'failed') return null;
  const error = batch.errors?.data?.find((e) => e.code === TOKEN_LIMIT_CODE);
  return error ? (error.message ?? TOKEN_LIMIT_CODE) : null;
}

/**
 * Looks a batch up (retrying transient failures) and records in the manifest what changed: its
 * status, counts, files and errors. A batch that failed on the token quota while it was its
 * shard's batch re-queues the shard (a `requeued` event): the failure is not the shard's result.
 */
export async function refreshBatch(client: OpenAI, manifest: Manifest, b: BatchState, options: { signal?: AbortSignal; retries?: number; minTimeoutMs?: number | undefined; onRetry?: RetryOptions['onRetry'] } = {}): Promise<OpenAI.Batches.Batch> {
  const retry = { ...(options.retries === undefined ? {} : { retries: options.retries }), minTimeoutMs: options.minTimeoutMs, ...(options.signal ? { signal: options.signal } : {}), ...(options.onRetry ? { onRetry: options.onRetry } : {}) };
  const batch = await withRetry(() => client.batches.retrieve(b.batchId, callSignal(options.signal)), retry);
  const counts = batch.request_counts ?? undefined;
  if (batch.status !== b.status || JSON.stringify(counts) !== JSON.stringify(b.requestCounts)) {
    await manifest.append({
      type: 'status',
      batch_id: b.batchId,
      status: batch.status,
      ...(counts ? { request_counts: { total: counts.total ?? 0, completed: counts.completed ?? 0, failed: counts.failed ?? 0 } } : {}),
      output_file_id: batch.output_file_id || null,
      error_file_id: batch.error_file_id || null,
      ...(batch.errors?.data?.length ? { errors: batch.errors.data.map((e) => ({ code: e.code ?? 'unknown', message: e.message ?? '', line: e.line ?? null })) } : {}),
    });
  }
  const quota = tokenLimitFailure(batch);
  const shard = b.sha256 === undefined ? undefined : manifest.state.shards.get(shardKey({ sha256: b.sha256, round: b.round }));
  if (quota !== null && !b.requeued && shard?.batchId === b.batchId) {
    await manifest.append({ type: 'requeued', sha256: b.sha256!, ...roundField(b), batch_id: b.batchId, reason: TOKEN_LIMIT_CODE, message: quota });
  }
  return batch;
}
