import type OpenAI from 'openai';
import { callSignal } from '../core/flow/call-signal.js';
import { TERMINAL_STATUSES, type Manifest } from './manifest.js';
import { withRetry } from './retry.js';

/**
 * Deletes, from the provider, the output and error files of the job's batches that are finished
 * and downloaded (input files follow `--delete-input-files`, see input-files.ts). For the local
 * server, once a job is merged: its results are on disk, and repeated local jobs would otherwise
 * pile up gigabytes in `.batch-explain/local-server`. Best effort: a file already gone (404) is
 * fine, any other failure after two quick retries is a warning (the server's expiry sweeps it later).
 * Returns the number of files deleted.
 */
export async function deleteJobFiles(client: OpenAI, manifest: Manifest, options: { signal?: AbortSignal; retries?: number } = {}): Promise<{ deleted: number; warnings: string[] }> {
  // Best effort, so short: two quick retries (from 250 ms), then a warning; the server's expiry sweep is the fallback.
  const retry = { retries: options.retries ?? 2, minTimeoutMs: 250, ...(options.signal ? { signal: options.signal } : {}) };
  const warnings: string[] = [];
  let deleted = 0;
  for (const b of manifest.state.batches.values()) {
    if (!TERMINAL_STATUSES.has(b.status ?? '') || !b.downloaded || b.sha256 === undefined) continue;
    const ids = [b.outputFileId, b.errorFileId].filter((id): id is string => typeof id === 'string' && id !== '');
    for (const id of ids) {
      try {
        const gone = await withRetry(
          () =>
            client.files.delete(id, callSignal(options.signal)).then(
              () => true,
              (err: { status?: number }) => {
                if (err?.status === 404) return false;
                throw err;
              },
            ),
          retry,
        );
        if (gone) deleted++;
      } catch (err) {
        if (options.signal?.aborted) throw err;
        warnings.push(`${b.batchId}: its file ${id} could not be deleted from the server (${(err as Error).message})`);
      }
    }
  }
  return { deleted, warnings };
}
