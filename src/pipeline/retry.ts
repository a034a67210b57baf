import { setTimeout as delay } from 'node:timers/promises';
import { APIConnectionError } from 'openai';
import pRetry, { AbortError } from 'p-retry';
import { BatchExplainError, describeApiError } from '../errors.js';

/** Attempts for a transient failure, after the first. */
export const DEFAULT_RETRIES = 6;
/** First wait of the backoff, doubling after each failure. */
const FIRST_WAIT_MS = 1000;
/** Longest backoff wait (a `Retry-After` may ask for more, up to `MAX_RETRY_AFTER_MS`). */
const MAX_BACKOFF_MS = 60_000;
/** Longest `Retry-After` obeyed: a server asking for more is waited on this long, then tried again. */
const MAX_RETRY_AFTER_MS = 300_000;

/**
 * Transient: worth another try. Network errors and timeouts, 408, 409, 429 and 5xx are; any
 * other 4xx is caused by the request itself and would fail again.
 */
export function isTransient(err: unknown): boolean {
  const e = err as { status?: number; code?: string; name?: string; cause?: { code?: string } };
  if (typeof e?.status === 'number') return e.status === 408 || e.status === 409 || e.status === 429 || e.status >= 500;
  if (err instanceof APIConnectionError) return true; // timeouts included (a subclass)
  const code = e?.code ?? e?.cause?.code;
  return typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|UND_ERR_\w+|ERR_STREAM_PREMATURE_CLOSE)$/.test(code);
}

/** The wait a server asked for, from `retry-after-ms` or `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(err: unknown): number | null {
  const headers = (err as { headers?: Headers | Record<string, string> })?.headers;
  if (!headers) return null;
  const get = (name: string) => (headers instanceof Headers ? headers.get(name) : headers[name]) ?? null;
  const ms = Number(get('retry-after-ms'));
  if (get('retry-after-ms') !== null && Number.isFinite(ms) && ms >= 0) return ms;
  const after = get('retry-after');
  if (after === null) return null;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(after);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

/**
 * The wait before the next attempt: what the server asked for (`Retry-After`) when it said, else
 * exponential backoff (1 s doubling to 60 s, or from `firstWaitMs`).
 */
export function retryWaitMs(err: unknown, failures: number, firstWaitMs = FIRST_WAIT_MS): number {
  const asked = retryAfterMs(err);
  if (asked !== null) return Math.min(asked, MAX_RETRY_AFTER_MS);
  return Math.min(MAX_BACKOFF_MS, firstWaitMs * 2 ** Math.max(0, failures - 1));
}

export interface RetryOptions {
  retries?: number;
  signal?: AbortSignal;
  /** First backoff wait. Default 1 s. */
  minTimeoutMs?: number;
  /** Told before each wait. */
  onRetry?: (err: unknown, attempt: number, waitMs: number) => void;
}

/**
 * Runs `fn` until it succeeds, retrying transient failures (p-retry) after the wait `retryWaitMs`
 * gives: the server's `Retry-After` when it sent one (so a 429 storm is waited out, not hammered),
 * exponential backoff otherwise. Other failures, and an abort, end it at once. When the attempts
 * run out, the last failure is reported as a `BatchExplainError` (`E_API`) saying how many were
 * made and that the command can be run again.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const retries = options.retries ?? DEFAULT_RETRIES;
  try {
    return await pRetry(
      async (attempt) => {
        try {
          return await fn(attempt);
        } catch (err) {
          if (!isTransient(err) || options.signal?.aborted) throw new AbortError(err as Error);
          throw err;
        }
      },
      {
        retries,
        // The waits are ours (below): p-retry's own backoff is off.
        minTimeout: 0,
        maxTimeout: 0,
        ...(options.signal ? { signal: options.signal } : {}),
        onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
          if (retriesLeft <= 0) return;
          const wait = retryWaitMs(error, attemptNumber, options.minTimeoutMs);
          options.onRetry?.(error, attemptNumber, wait);
          if (wait > 0) await delay(wait, undefined, options.signal ? { signal: options.signal } : {});
        },
      },
    );
  } catch (err) {
    if (!isTransient(err) || options.signal?.aborted) throw err;
    throw new BatchExplainError('E_API', `the API still failed after ${retries + 1} attempts (last: ${describeApiError(err)}). Nothing is lost: run the same command again to resume`, { cause: err });
  }
}
