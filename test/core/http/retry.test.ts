import { describe, expect, it } from 'vitest';
import {
  backoffMs,
  isTransientNetworkError,
  isTransientStatus,
  RetriesExhaustedError,
  retry,
  retryAfterFromHeaders,
  sleep,
  waitBeforeRetry,
} from '../../../src/core/http/retry.js';

const coded = (code: string) => Object.assign(new Error(`failed with ${code}`), { code });
const WAITS = { firstWaitMs: 100, maxBackoffMs: 1000, maxRetryAfterMs: 5000 };

describe('retryAfterFromHeaders', () => {
  it('reads retry-after-ms first, then retry-after in seconds or as an HTTP date', () => {
    expect(retryAfterFromHeaders(new Headers({ 'retry-after-ms': '250', 'retry-after': '3' }))).toBe(250);
    expect(retryAfterFromHeaders({ 'retry-after': '3' })).toBe(3000);
    expect(retryAfterFromHeaders({ 'retry-after': ['2', '9'] })).toBe(2000);
    expect(retryAfterFromHeaders({ 'retry-after': '0.5' })).toBe(500);
    // A bad retry-after-ms falls back to retry-after.
    expect(retryAfterFromHeaders({ 'retry-after-ms': 'soon', 'retry-after': '1' })).toBe(1000);
    expect(retryAfterFromHeaders({ 'retry-after-ms': '-5', 'retry-after': '1' })).toBe(1000);
    const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
    const ms = retryAfterFromHeaders({ 'retry-after': inTenSeconds })!;
    // HTTP dates have whole seconds: 9 to 10 s from now (a busy machine may take a while to get here).
    expect(ms).toBeGreaterThan(5000);
    expect(ms).toBeLessThanOrEqual(10_000);
    expect(retryAfterFromHeaders({ 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' })).toBe(0);
  });

  it('is null when no header says, or when it says nothing readable', () => {
    expect(retryAfterFromHeaders(undefined)).toBeNull();
    expect(retryAfterFromHeaders({})).toBeNull();
    expect(retryAfterFromHeaders(new Headers())).toBeNull();
    expect(retryAfterFromHeaders({ 'retry-after': 'later' })).toBeNull();
    expect(retryAfterFromHeaders({ 'retry-after': '' })).toBeNull();
    expect(retryAfterFromHeaders({ 'retry-after-ms': '' })).toBeNull();
  });
});

describe('waits and transient failures', () => {
  it('backs off exponentially up to the cap; a Retry-After replaces the backoff (capped), never adds to it', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(n, 100, 1000))).toEqual([100, 200, 400, 800, 1000]);
    expect(waitBeforeRetry(null, 3, WAITS)).toBe(400);
    expect(waitBeforeRetry(0, 3, WAITS)).toBe(0);
    expect(waitBeforeRetry(250, 4, WAITS)).toBe(250);
    expect(waitBeforeRetry(60_000, 1, WAITS)).toBe(5000);
  });

  it('408, 429 and 5xx are transient statuses; connection-level codes, own or the cause\'s, are transient', () => {
    expect([408, 429, 500, 502, 503, 599].every(isTransientStatus)).toBe(true);
    expect([200, 301, 400, 401, 403, 404, 409, 413].some(isTransientStatus)).toBe(false);
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED']) {
      expect(isTransientNetworkError(coded(code)), code).toBe(true);
      expect(isTransientNetworkError(new TypeError('fetch failed', { cause: coded(code) })), code).toBe(true);
    }
    for (const err of [coded('ENOTFOUND'), coded('EACCES'), new Error('plain'), null, 'a string']) expect(isTransientNetworkError(err)).toBe(false);
  });
});

describe('sleep', () => {
  it('resolves after the time, and rejects with the abort reason at once', async () => {
    await expect(sleep(10)).resolves.toBeUndefined();
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('stopped by SIGTERM')), 50);
    await expect(sleep(60_000, controller.signal)).rejects.toThrow('stopped by SIGTERM');
    expect(Date.now() - started).toBeLessThan(30_000);
    await expect(sleep(10, controller.signal)).rejects.toThrow('stopped by SIGTERM');
  });
});

describe('retry', () => {
  it('retries transient failures after the waits it is given, only those (p-retry adds no backoff of its own)', async () => {
    const told: Array<[number, number]> = [];
    const started = Date.now();
    const result = await retry(
      async (attempt) => {
        if (attempt < 5) throw coded('ECONNRESET');
        return attempt;
      },
      { retries: 6, isTransient: isTransientNetworkError, waitMs: () => 0, onRetry: (_err, attempt, wait) => void told.push([attempt, wait]) },
    );
    expect(result).toBe(5);
    expect(told).toEqual([[1, 0], [2, 0], [3, 0], [4, 0]]);
    // p-retry's default backoff alone would wait 1 + 2 + 4 + 8 s here.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('passes on a failure that is not transient at once, as it is', async () => {
    let calls = 0;
    const refused = coded('EACCES');
    const err = await retry(
      async () => {
        calls++;
        throw refused;
      },
      { retries: 5, isTransient: isTransientNetworkError, waitMs: () => 0 },
    ).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(err).toBe(refused);
  });

  it('out of retries: a RetriesExhaustedError with the last failure, the attempts and a short description', async () => {
    let calls = 0;
    const err = await retry(
      async () => {
        calls++;
        throw coded('ETIMEDOUT');
      },
      { retries: 2, isTransient: isTransientNetworkError, waitMs: () => 0 },
    ).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    const exhausted = err as RetriesExhaustedError;
    expect(exhausted).toMatchObject({ code: 'E_API', attempts: 3, description: 'failed with ETIMEDOUT' });
    expect((exhausted.cause as Error).message).toBe('failed with ETIMEDOUT');
    expect(exhausted.message).toBe('still failing after 3 attempts: failed with ETIMEDOUT');
    const once = await retry(() => Promise.reject(coded('EPIPE')), { retries: 0, isTransient: isTransientNetworkError, waitMs: () => 0 }).catch((e: unknown) => e);
    expect(once).toMatchObject({ attempts: 1, message: 'still failing after 1 attempt: failed with EPIPE' });
  });

  it('an abort ends a wait at once with its reason, and is not counted as retries running out', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stopped by SIGINT')), 50);
    const started = Date.now();
    const err = await retry(() => Promise.reject(coded('ECONNRESET')), { retries: 3, isTransient: isTransientNetworkError, waitMs: () => 60_000, signal: controller.signal }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(err).not.toBeInstanceOf(RetriesExhaustedError);
    expect((err as Error).message).toBe('stopped by SIGINT');
  });
});
