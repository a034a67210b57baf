import type OpenAI from 'openai';
import { callSignal } from '../core/flow/call-signal.js';
import { isTransient, withRetry } from './retry.js';
import { tokenLimitFailure } from './batch-refresh.js';

/** What the provider holds of an upload that the manifest did not see finish: the file, and the batch made from it. */

/**
 * The batch made from an input file, if any: batches are listed newest first and matched by
 * `input_file_id` (one upload makes one batch, but for batches failed on the token quota, which
 * are passed over, as are those in `exclude`). Listing stops at batches older than the file.
 */
export async function findBatchForFile(client: OpenAI, fileId: string, signal?: AbortSignal, exclude: ReadonlySet<string> = new Set(), minTimeoutMs?: number): Promise<string | null> {
  return withRetry(
    async () => {
      let notBefore = 0;
      try {
        notBefore = (await client.files.retrieve(fileId, callSignal(signal))).created_at - 300;
      } catch (err) {
        if (!isTransient(err) && (err as { status?: number }).status !== 404) throw err;
        if (isTransient(err)) throw err;
      }
      for await (const batch of client.batches.list({ limit: 100 }, callSignal(signal))) {
        if (batch.input_file_id === fileId && !exclude.has(batch.id) && tokenLimitFailure(batch) === null) return batch.id;
        if (batch.created_at < notBefore) break;
      }
      return null;
    },
    { minTimeoutMs, ...(signal ? { signal } : {}) },
  );
}

/** The id of an uploaded batch input file named `filename` of `bytes` bytes, still usable, or null. */
export async function findUpload(client: OpenAI, filename: string, bytes: number, signal?: AbortSignal): Promise<string | null> {
  for await (const file of client.files.list({ purpose: 'batch' }, callSignal(signal))) {
    if (file.filename === filename && file.bytes === bytes && (file.status as string) !== 'error') return file.id;
  }
  return null;
}
