import type OpenAI from 'openai';
import { callSignal } from '../core/flow/call-signal.js';
import { isUnfinished, TERMINAL_STATUSES, type BatchState, type Manifest } from './manifest.js';
import { withRetry, type RetryOptions } from './retry.js';

/**
 * Which uploaded input files to delete once their batch is finished and downloaded:
 * `completed`: every finished batch's (completed, expired, cancelled, failed); `failed`: only of
 * batches that finally failed; `never`. A batch failed on the token quota is not finished for
 * this: its shard was re-queued and its file is reused.
 */
export type DeleteInputFiles = 'completed' | 'failed' | 'never';
export const DELETE_INPUT_FILES: readonly DeleteInputFiles[] = ['completed', 'failed', 'never'];

/**
 * Deletes the input file of a finished batch of the job when `policy` says so (an Azure resource
 * holds 500 input files without expiry, 10,000 with), retrying transient failures, and records
 * it (`input_deleted`). A file already gone (404) is recorded as deleted. Never deletes a file
 * that another unfinished batch uses, nor one the job did not upload (batches of a tracking
 * file). A deletion that fails is a warning, not a failure: the file expires anyway.
 */
export async function deleteInputFile(
  client: OpenAI,
  manifest: Manifest,
  b: BatchState,
  policy: DeleteInputFiles,
  retry: { retries?: number; signal?: AbortSignal; minTimeoutMs?: number | undefined; onRetry?: RetryOptions['onRetry'] },
): Promise<{ deleted: boolean; warning?: string }> {
  const fileId = b.inputFileId;
  if (policy === 'never' || fileId === undefined || b.sha256 === undefined || b.requeued || b.inputDeleted) return { deleted: false };
  if (!TERMINAL_STATUSES.has(b.status ?? '') || (policy === 'failed' && b.status !== 'failed')) return { deleted: false };
  for (const other of manifest.state.batches.values()) {
    if (other !== b && other.inputFileId === fileId && isUnfinished(other)) return { deleted: false };
  }
  try {
    await withRetry(
      () =>
        client.files.delete(fileId, callSignal(retry.signal)).catch((err: { status?: number }) => {
          if (err?.status === 404) return null; // already gone (expired, or deleted before a crash)
          throw err;
        }),
      retry,
    );
  } catch (err) {
    if (retry.signal?.aborted) throw err;
    return { deleted: false, warning: `${b.batchId}: its input file ${fileId} could not be deleted (${(err as Error).message}); it expires on its own if it was uploaded with an expiry` };
  }
  await manifest.append({ type: 'input_deleted', batch_id: b.batchId, file_id: fileId });
  return { deleted: true };
}
