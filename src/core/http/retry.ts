import pRetry, { AbortError } from 'p-retry';
import { BatchExplainError, describeApiError } from '../../errors.js';

/**
 * The retry core shared by the API calls (`batch-api/retry.ts`, which adds what is OpenAI's) and
 * remote image downloads (`core/images/remote-image.ts`): which failures are transient, the wait before
 * the next attempt (the server's `Retry-After` when it gave one, else exponential backoff, never
 * both), an abortable sleep, and the loop (p-retry, its own backoff off: the waits are ours).
 */

/** HTTP statuses worth another try: 408 (request timeout), 429 (rate limited), 5xx. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Network failures worth another try: the connection reset, refused or cut, a timeout, a DNS
 * lookup to try again (EAI_AGAIN), undici's socket errors and timeouts. Not ENOTFOUND: a host
 * that does not exist stays so (the API's calls add it, see `batch-api/retry.ts`).
 */
const TRANSIENT_NETWORK_CODE = /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|UND_ERR_(SOCKET|CONNECT_TIMEOUT|HEADERS_TIMEOUT|BODY_TIMEOUT|CLOSED))$/;

/** The error's system or undici code, its own or its cause's; '' when it has none. */
export function errorCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null | undefined;
  const code = e?.code ?? e?.cause?.code;
  return typeof code === 'string' ? code : '';
}

export function isTransientNetworkError(err: unknown): boolean {
  return TRANSIENT_NETWORK_CODE.test(errorCode(err));
}

/** Response headers as fetch (`Headers`), undici and node:http (a record, names in lower case) give them. */
export type HeaderSource = Headers | Record<string, string | string[] | undefined>;

/**
 * The wait a server asked for, in ms: `retry-after-ms` (OpenAI, Azure) when valid, else
 * `retry-after` in seconds or as an HTTP date (in the past: 0). Null when neither says.
 */
export function retryAfterFromHeaders(headers: HeaderSource | null | undefined): number | null {
  if (!headers) return null;
  const get = (name: string): string | null => {
    const value = headers instanceof Headers ? headers.get(name) : headers[name];
    return (Array.isArray(value) ? value[0] : value) ?? null;
  };
  const msHeader = get('retry-after-ms');
  const ms = Number(msHeader);
  if (msHeader !== null && msHeader.trim() !== '' && Number.isFinite(ms) && ms >= 0) return ms;
  const after = get('retry-after');
  if (after === null || after.trim() === '') return null;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(after);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

/** How long the waits before retries may be. */
export interface WaitPolicy {
  /** First backoff wait, doubling after each failure. */
  firstWaitMs: number;
  /** Longest backoff wait. */
  maxBackoffMs: number;
  /** Longest `Retry-After` obeyed: a server asking for more is waited on this long, then tried again. */
  maxRetryAfterMs: number;
}

/** Exponential backoff after `failures` failures (1 or more): `firstWaitMs` doubling, capped. */
export function backoffMs(failures: number, firstWaitMs: number, maxMs: number): number {
  return Math.min(maxMs, firstWaitMs * 2 ** Math.max(0, failures - 1));
}

/** The wait before the next attempt: what the server asked for (`askedMs`, capped) when it said, else backoff; never the two added. */
export function waitBeforeRetry(askedMs: number | null, failures: number, policy: WaitPolicy): number {
  if (askedMs !== null) return Math.min(askedMs, policy.maxRetryAfterMs);
  return backoffMs(failures, policy.firstWaitMs, policy.maxBackoffMs);
}

/** Resolves after `ms`; an abort of `signal` rejects at once with its reason (and clears the timer). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Transient failures outlasted the retries. `cause` is the last failure, `attempts` how many
 * were made, `description` the last failure in a few words. A `BatchExplainError` (`E_API`) for
 * the library's callers; the CLI words it for the user (what was lost, what to do).
 */
export class RetriesExhaustedError extends BatchExplainError {
  readonly attempts: number;
  readonly description: string;
  constructor(attempts: number, cause: unknown) {
    const description = describeApiError(cause);
    super('E_API', `still failing after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${description}`, { cause });
    this.name = 'RetriesExhaustedError';
    this.attempts = attempts;
    this.description = description;
  }
}

export interface RetryLoopOptions {
  /** Attempts after the first. */
  retries: number;
  /** Which failures are worth another try; the others end the loop at once, thrown as they are. */
  isTransient: (err: unknown) => boolean;
  /** The wait before the next attempt, after `failures` failures (see {@link waitBeforeRetry}). */
  waitMs: (err: unknown, failures: number) => number;
  /** Ends a wait or the loop at once, rejecting with its reason. */
  signal?: AbortSignal | undefined;
  /** Told before each wait. */
  onRetry?: ((err: unknown, attempt: number, waitMs: number) => void) | undefined;
}

/**
 * Runs `fn` (given the attempt number, from 1) until it succeeds. A transient failure is tried
 * again after `waitMs`, at most `retries` times, then ends as a {@link RetriesExhaustedError}; any
 * other failure, and an abort, end it at once.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryLoopOptions): Promise<T> {
  const { signal } = options;
  let attempts = 0;
  try {
    return await pRetry(
      async (attempt) => {
        attempts = attempt;
        try {
          return await fn(attempt);
        } catch (err) {
          if (signal?.aborted || !options.isTransient(err)) throw new AbortError(err as Error);
          throw err;
        }
      },
      {
        retries: options.retries,
        // p-retry's own backoff is off: its wait would come on top of ours (and of Retry-After).
        minTimeout: 0,
        maxTimeout: 0,
        ...(signal ? { signal } : {}),
        onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
          if (retriesLeft <= 0) return;
          const wait = options.waitMs(error, attemptNumber);
          options.onRetry?.(error, attemptNumber, wait);
          if (wait > 0) await sleep(wait, signal);
        },
      },
    );
  } catch (err) {
    if (signal?.aborted || !options.isTransient(err)) throw err;
    throw new RetriesExhaustedError(attempts, err);
  }
}
