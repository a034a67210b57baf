import { describe, expect, it } from 'vitest';
import { APIConnectionError, APIError } from 'openai';
import { retriesExhaustedLine } from '../../bin/run-command.js';
import { BatchExplainError } from '../../src/errors.js';
import { isTransient, RetriesExhaustedError, retryWaitMs, withRetry } from '../../src/batch-api/retry.js';

const http = (status: number, headers: Record<string, string> = {}) => APIError.generate(status, { error: { message: `status ${status}` } }, undefined, new Headers(headers));

describe('withRetry', () => {
  it('waits what Retry-After asks for, else backs off exponentially', () => {
    expect(retryWaitMs(http(429, { 'retry-after': '3' }), 1)).toBe(3000);
    expect(retryWaitMs(http(429, { 'retry-after-ms': '250', 'retry-after': '3' }), 5)).toBe(250);
    expect(retryWaitMs(http(503, { 'retry-after': '0' }), 4)).toBe(0);
    expect(retryWaitMs(http(429, { 'retry-after': '100000' }), 1)).toBe(300_000);
    expect([1, 2, 3, 4, 8].map((n) => retryWaitMs(http(500), n))).toEqual([1000, 2000, 4000, 8000, 60_000]);
    expect(retryWaitMs(new APIConnectionError({ message: 'reset' }), 2, 10)).toBe(20);
  });

  it('retries transient failures until one succeeds, waiting between attempts', async () => {
    const at: number[] = [];
    const result = await withRetry(
      async (attempt) => {
        at.push(Date.now());
        if (attempt < 3) throw http(429, { 'retry-after-ms': '200' });
        return 'done';
      },
      { retries: 5 },
    );
    expect(result).toBe('done');
    expect(at).toHaveLength(3);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(190);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(190);
  });

  it('passes other 4xx through at once, as they are', async () => {
    let calls = 0;
    const err = await withRetry(async () => {
      calls++;
      throw http(404);
    }).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(err).toBeInstanceOf(APIError);
    expect((err as APIError).status).toBe(404);
  });

  it('when the attempts run out, throws the last failure with the count (no CLI advice); the CLI says a re-run resumes, in one line', async () => {
    let calls = 0;
    const err = await withRetry(
      async () => {
        calls++;
        throw http(503, { 'retry-after': '0' });
      },
      { retries: 2 },
    ).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect(err).toBeInstanceOf(BatchExplainError);
    const exhausted = err as RetriesExhaustedError;
    expect(exhausted).toMatchObject({ code: 'E_API', attempts: 3, description: '503 status 503', message: 'still failing after 3 attempts: 503 status 503' });
    expect(exhausted.cause).toBeInstanceOf(APIError);
    expect((exhausted.cause as APIError).status).toBe(503);
    expect(retriesExhaustedLine(exhausted)).toBe('the API still failed after 3 attempts (last: 503 status 503). Nothing is lost: run the same command again to resume');
  });

  it('tells transient failures from the others: 408, 409, 429, 5xx, connection errors and network codes', () => {
    for (const status of [408, 409, 429, 500, 503]) expect(isTransient(http(status)), String(status)).toBe(true);
    for (const status of [400, 401, 404, 422]) expect(isTransient(http(status)), String(status)).toBe(false);
    expect(isTransient(new APIConnectionError({ message: 'reset' }))).toBe(true);
    for (const code of ['ECONNRESET', 'ENOTFOUND', 'UND_ERR_SOCKET', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'ERR_STREAM_PREMATURE_CLOSE']) {
      expect(isTransient(Object.assign(new Error('x'), { code })), code).toBe(true);
      expect(isTransient(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code }) })), code).toBe(true);
    }
    expect(isTransient(Object.assign(new Error('x'), { code: 'EACCES' }))).toBe(false);
    expect(isTransient(new Error('no code'))).toBe(false);
  });

  it('an abort ends a long Retry-After wait at once', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stopped by SIGINT')), 100);
    const started = Date.now();
    const err = await withRetry(async () => {
      throw http(429, { 'retry-after': '60' });
    }, { signal: controller.signal }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect((err as Error).message).toMatch(/stopped by SIGINT|aborted/i);
  });
});
