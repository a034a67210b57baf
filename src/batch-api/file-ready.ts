import type OpenAI from 'openai';
import { callSignal } from '../core/flow/call-signal.js';
import { sleep } from '../core/http/retry.js';
import { BatchExplainError } from '../errors.js';
import { withRetry } from './retry.js';

/**
 * Waiting for an uploaded input file to be `processed` before a batch is made from it: Azure keeps
 * an upload `pending` for a while and answers a batch on it with a 400 ("The input file '…' is in
 * 'pending' state. Only files with status 'Processed' are accepted for batch inferencing."); OpenAI's
 * uploads are processed at once (the first look says so, and nothing waits).
 */
export interface FileReadyOptions {
  signal?: AbortSignal;
  /** First wait between looks, in ms; it doubles up to `maxPollMs`. Default 1000. */
  pollMs?: number;
  /** Longest wait between looks. Default 15,000. */
  maxPollMs?: number;
  /** Give up after this long, in ms. Default 30 minutes (as the SDK's `waitForProcessing`). */
  timeoutMs?: number;
  retries?: number;
  /** Told of each look that found the file not ready yet: its status and the time waited so far. */
  onWait?: (status: string, waitedMs: number) => void;
}

/** Statuses of a file that will not become `processed`. */
const FINAL = new Set(['error', 'deleted', 'deleting']);

/** Resolves once `fileId` is `processed`; throws a one-line `E_API` error if it fails processing, goes, or takes too long. */
export async function waitForFileProcessed(client: OpenAI, fileId: string, options: FileReadyOptions = {}): Promise<void> {
  const { pollMs = 1000, maxPollMs = 15_000, timeoutMs = 30 * 60_000, signal } = options;
  const started = Date.now();
  for (let wait = pollMs; ; wait = Math.min(wait * 2, maxPollMs)) {
    const file = await withRetry(() => client.files.retrieve(fileId, callSignal(signal)), {
      ...(options.retries === undefined ? {} : { retries: options.retries }),
      ...(signal ? { signal } : {}),
    });
    const status = String(file.status ?? 'processed').toLowerCase();
    if (status === 'processed') return;
    if (FINAL.has(status)) {
      const details = (file as { status_details?: string | null }).status_details;
      throw new BatchExplainError('E_API', `input file ${fileId} was not processed by the provider (status ${status}${details ? `: ${details}` : ''})`);
    }
    const waited = Date.now() - started;
    if (waited >= timeoutMs) throw new BatchExplainError('E_API', `input file ${fileId} is still ${status} after ${Math.round(waited / 1000)} s; run the command again to keep waiting`);
    options.onWait?.(status, waited);
    await sleep(wait, signal);
  }
}

/** A `batches.create` refused because its input file is not processed yet (Azure's 400): wait, then create again. */
export function isFileNotReadyError(err: unknown): boolean {
  const e = err as { status?: number; message?: unknown };
  return e?.status === 400 && typeof e.message === 'string' && /is in '\w+' state\. Only files with status 'Processed'/i.test(e.message);
}
