import { APIConnectionError } from 'openai';
import { errorCode, isTransientNetworkError, isTransientStatus, retry, retryAfterFromHeaders, waitBeforeRetry, type HeaderSource, type WaitPolicy } from '../core/http/retry.js';

export { RetriesExhaustedError } from '../core/http/retry.js';

/** Attempts for a transient failure, after the first. */
export const DEFAULT_RETRIES = 6;
/** The API's waits: 1 s doubling to 60 s; a `Retry-After` obeyed up to 5 minutes. */
const API_WAITS: WaitPolicy = { firstWaitMs: 1000, maxBackoffMs: 60_000, maxRetryAfterMs: 300_000 };

/**
 * Transient: worth another try. Network errors and timeouts, 408, 409, 429 and 5xx are; any
 * other 4xx is caused by the request itself and would fail again. Beyond the core's list (see
 * `core/http/retry.ts`): 409, OpenAI's conflict on an object being changed (the openai SDK retries it
 * too); the openai client's connection errors; and, the API's host being known to exist, a failed
 * lookup (ENOTFOUND), any undici failure and a stream cut short.
 */
export function isTransient(err: unknown): boolean {
  const status = (err as { status?: unknown } | null)?.status;
  if (typeof status === 'number') return status === 409 || isTransientStatus(status);
  if (err instanceof APIConnectionError) return true; // timeouts included (a subclass)
  return isTransientNetworkError(err) || /^(ENOTFOUND|UND_ERR_\w+|ERR_STREAM_PREMATURE_CLOSE)$/.test(errorCode(err));
}

/** The wait a server asked for, from the error's headers: `retry-after-ms` or `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(err: unknown): number | null {
  return retryAfterFromHeaders((err as { headers?: HeaderSource } | null)?.headers);
}

/**
 * The wait before the next attempt: what the server asked for (`Retry-After`) when it said, else
 * exponential backoff (1 s doubling to 60 s, or from `firstWaitMs`).
 */
export function retryWaitMs(err: unknown, failures: number, firstWaitMs = API_WAITS.firstWaitMs): number {
  return waitBeforeRetry(retryAfterMs(err), failures, { ...API_WAITS, firstWaitMs });
}

export interface RetryOptions {
  retries?: number;
  signal?: AbortSignal;
  /** First backoff wait. Default 1 s. */
  minTimeoutMs?: number | undefined;
  /** Told before each wait. */
  onRetry?: (err: unknown, attempt: number, waitMs: number) => void;
}

/**
 * Runs an API call until it succeeds, retrying transient failures after the wait `retryWaitMs`
 * gives: the server's `Retry-After` when it sent one (so a 429 storm is waited out, not hammered),
 * exponential backoff otherwise. Other failures, and an abort, end it at once, thrown as they
 * are. When the attempts run out: a `RetriesExhaustedError` (`E_API`) with the last failure as
 * its `cause` and the number of attempts (the CLI tells the user what to do next).
 */
export function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  return retry(fn, {
    retries: options.retries ?? DEFAULT_RETRIES,
    isTransient,
    waitMs: (err, failures) => retryWaitMs(err, failures, options.minTimeoutMs),
    signal: options.signal,
    onRetry: options.onRetry,
  });
}
