import { BatchExplainError } from '../../errors.js';

/**
 * What one batch input file may hold, per provider: 200 MB (209,715,200 B) everywhere (OpenAI's spec
 * for `POST /files` with purpose `batch`; Azure's global-batch limits, without blob storage), and
 * 50,000 requests at OpenAI (spec `CreateBatchRequest`) against 100,000 at Azure (global-batch
 * limits). The local server keeps the same limits on the same routes.
 */
export const PROVIDER_FILE_LIMITS: Record<'azure' | 'openai' | 'local', { bytes: number; requests: number }> = {
  azure: { bytes: 209_715_200, requests: 100_000 },
  openai: { bytes: 209_715_200, requests: 50_000 },
  local: { bytes: 209_715_200, requests: 50_000 },
};

/** 180,000,000 bytes: the providers' 200 MB input-file limit, minus headroom for their own accounting. */
export const DEFAULT_SHARD_BYTES = 180_000_000;

/** Refuses shard budgets over what `provider` takes in one input file: no shard over a limit is ever built to be uploaded. */
export function checkShardLimits(provider: keyof typeof PROVIDER_FILE_LIMITS, maxBytes: number | undefined, maxRequests: number | undefined): void {
  const limits = PROVIDER_FILE_LIMITS[provider];
  if (maxBytes !== undefined && maxBytes > limits.bytes) {
    throw new BatchExplainError('E_OPTION', `a shard budget of ${maxBytes} bytes (--max-bytes) is over the ${limits.bytes} bytes (200 MB) ${provider} takes in one batch input file`);
  }
  if (maxRequests !== undefined && maxRequests > limits.requests) {
    throw new BatchExplainError('E_OPTION', `a shard budget of ${maxRequests} requests (--max-requests) is over the ${limits.requests} requests ${provider} takes in one batch`);
  }
}

/** Whether a built shard fits `provider`'s input-file limits (checked again before an upload). */
export function shardFits(provider: keyof typeof PROVIDER_FILE_LIMITS, shard: { bytes: number; rows: number }): boolean {
  const limits = PROVIDER_FILE_LIMITS[provider];
  return shard.bytes <= limits.bytes && shard.rows <= limits.requests;
}
