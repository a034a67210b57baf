import { APIConnectionError } from 'openai';
import pRetry, { AbortError } from 'p-retry';

/** Attempts for a transient failure, after the first. */
export const DEFAULT_RETRIES = 6;

/**
 * Transient: worth another try. Network errors and timeouts, 408, 409, 429 and 5xx are; any
 * other 4xx is caused by the request itself and would fail again.
 */
export function isTransient(err: unknown): boolean {
  const e = err as { status?: number; code?: string; name?: string; cause?: { code?: string } };
  if (typeof e?.status === 'number') return e.status === 408 || e.status === 409 || e.status === 429 || e.status >= 500;
  if (err instanceof APIConnectionError) return true; // timeouts included (a subclass)
  const code = e?.code ?? e?.cause?.code;
  return typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|UND_ERR_\w+)$/.test(code);
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
 * Runs `fn` until it succeeds, retrying transient failures with exponential backoff (p-retry,
 * 1 s doubling to 60 s) and waiting at least what a `Retry-After` asked for. Other failures,
 * and an abort, end it at once.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: { retries?: number; signal?: AbortSignal; minTimeoutMs?: number; onRetry?: (err: unknown, attempt: number, waitMs: number) => void } = {},
): Promise<T> {
  return pRetry(
    async (attempt) => {
      try {
        return await fn(attempt);
      } catch (err) {
        if (!isTransient(err) || options.signal?.aborted) throw new AbortError(err as Error);
        throw err;
      }
    },
    {
      retries: options.retries ?? DEFAULT_RETRIES,
      minTimeout: options.minTimeoutMs ?? 1000,
      maxTimeout: 60_000,
      factor: 2,
      ...(options.signal ? { signal: options.signal } : {}),
      onFailedAttempt: async ({ error, attemptNumber }) => {
        const wait = retryAfterMs(error) ?? 0;
        options.onRetry?.(error, attemptNumber, wait);
        if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, 300_000)));
      },
    },
  );
}
