import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { DirectRequest } from '../../src/core/direct/direct-request.js';
import { RateLimiter } from '../../src/core/direct/rate-limit.js';
import { directResultsSink, type DirectResult } from '../../src/stages/direct-results-sink.js';
import { chatEndpoint, sendDirect, type SendDirectOptions } from '../../src/stages/send-direct.js';
import { resultFromLine } from '../../src/stages/reverse/read-results.js';
import { chatRequest, completion, startTinyServer, userText, type SeenRequest, type TinyAnswer } from '../helpers/direct-server.js';
import { tempDir } from '../helpers/server.js';

async function* from<T>(items: T[]) {
  yield* items;
}

/** Sends `requests` to a tiny server answering with `answer`; returns the results, the stage's stats and what the server saw. */
async function send(requests: DirectRequest[], answer: (req: SeenRequest, n: number) => TinyAnswer, options: Partial<SendDirectOptions> = {}) {
  const server = await startTinyServer(answer);
  try {
    const stage = sendDirect({ baseUrl: server.url, minRetryDelayMs: 5, ...options });
    const results: DirectResult[] = [];
    let error: unknown = null;
    try {
      for await (const r of stage(from(requests))) results.push(r);
    } catch (err) {
      error = err;
    }
    return { results, stats: stage.stats, seen: server.seen, error };
  } finally {
    await server.close();
  }
}

/** Tries per row, from the text the server saw. */
function triesByRow(seen: SeenRequest[]): Record<string, number> {
  const tries: Record<string, number> = {};
  for (const s of seen) tries[userText(s)] = (tries[userText(s)] ?? 0) + 1;
  return tries;
}

const rows = (n: number) => Array.from({ length: n }, (_, i) => chatRequest(`r${i}`));

describe('sendDirect', () => {
  it('posts each body as it is and writes Batch API output lines that merge reads', async () => {
    const requests = rows(12);
    const { results, stats, seen } = await send(requests, (req) => ({ body: completion(`why ${userText(req)}`), headers: { 'x-request-id': `req-${userText(req)}` } }), { apiKey: 'sk-secret-123', concurrency: 4 });
    expect(seen.map((s) => s.text).sort()).toEqual(requests.map((r) => r.body.toString('utf8')).sort());
    expect(new Set(seen.map((s) => s.authorization))).toEqual(new Set(['Bearer sk-secret-123']));
    expect(results.map((r) => r.customId).sort()).toEqual(requests.map((r) => r.customId).sort());
    for (const r of results) {
      expect(r.ok).toBe(true);
      const line = JSON.parse(r.line);
      expect(Object.keys(line)).toEqual(['id', 'custom_id', 'response', 'error']);
      expect(line).toMatchObject({ custom_id: r.customId, response: { status_code: 200, request_id: `req-row ${r.customId}` }, error: null });
      expect(resultFromLine(r.line, { source: 'x', order: 0 })).toMatchObject({ id: r.customId, explanation: `why row ${r.customId}`, error: null });
    }
    expect(stats).toEqual({ sent: 12, succeeded: 12, failed: 0, retries: 0, rateLimited: 0 });
  });

  it('fails a request the server refuses (4xx) at once, without retrying it', async () => {
    const { results, seen, stats } = await send(rows(6), (req) =>
      userText(req) === 'row r2' ? { status: 400, body: { error: { message: "Invalid 'messages'", type: 'invalid_request_error', param: 'messages', code: 'invalid_value' } } } : userText(req) === 'row r4' ? { status: 404, body: { error: { message: 'The model `tiny` does not exist.', type: 'NotFoundError', param: null, code: 404 } } } : {},
    );
    expect(triesByRow(seen)).toEqual({ 'row r0': 1, 'row r1': 1, 'row r2': 1, 'row r3': 1, 'row r4': 1, 'row r5': 1 });
    const failed = results.filter((r) => !r.ok);
    expect(failed.map((r) => r.customId).sort()).toEqual(['r2', 'r4']);
    const r2 = resultFromLine(failed.find((r) => r.customId === 'r2')!.line, { source: 'x', order: 0 });
    expect(r2).toMatchObject({ explanation: null, error: { reason: 'api_error', status: 400, code: 'invalid_value', message: "Invalid 'messages'" } });
    expect(stats).toMatchObject({ sent: 6, succeeded: 4, failed: 2, retries: 0 });
  });

  it('retries 5xx, 408, 409 and 429 with backoff, and fails a request once out of retries', async () => {
    const flaky: Record<string, number[]> = { 'row r0': [500, 502], 'row r1': [408], 'row r2': [409, 503, 429], 'row r3': [500, 500, 500] };
    const { results, seen, stats } = await send(
      rows(4),
      (req) => {
        const status = flaky[userText(req)]?.shift();
        return status ? { status, body: { error: { message: `flaky ${status}`, type: 'server_error', param: null, code: null } } } : {};
      },
      { retries: 2 },
    );
    expect(triesByRow(seen)).toEqual({ 'row r0': 3, 'row r1': 2, 'row r2': 3, 'row r3': 3 });
    expect(results.filter((r) => r.ok).map((r) => r.customId).sort()).toEqual(['r0', 'r1']);
    // r2 ran out of retries on its 429, r3 on a 500: failures, with the last answer.
    const last = Object.fromEntries(results.filter((r) => !r.ok).map((r) => [r.customId, JSON.parse(r.line).response.status_code]));
    expect(last).toEqual({ r2: 429, r3: 500 });
    expect(stats).toMatchObject({ sent: 4, succeeded: 2, failed: 2, retries: 3 + 2 + 3 + 3 - 4, rateLimited: 1 });
  });

  it('holds every request back for a 429 Retry-After (seen on the server: none arrives before it is over)', async () => {
    let limited = -1;
    const { results, seen, stats } = await send(
      rows(6),
      (req, n) => {
        if (n !== 3) return {};
        limited = n;
        return { status: 429, headers: { 'retry-after-ms': '400' }, body: { error: { message: 'Rate limit reached', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' } } };
      },
      { concurrency: 1 },
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(stats.rateLimited).toBe(1);
    expect(seen).toHaveLength(7);
    // One at a time: every request after the 429 (its retry first) came 400 ms after it at least.
    const at = seen[limited - 1]!.at;
    expect(userText(seen[limited]!)).toBe(userText(seen[limited - 1]!));
    for (const s of seen.slice(limited)) expect(s.at - at).toBeGreaterThanOrEqual(395);
  });

  it('retries a try that takes longer than the timeout', async () => {
    const { results, seen } = await send(rows(2), (req, n) => (n === 1 ? { delayMs: 20_000 } : {}), { timeoutMs: 1500, concurrency: 1 });
    expect(results.every((r) => r.ok)).toBe(true);
    expect(seen).toHaveLength(3);
    expect(userText(seen[0]!)).toBe(userText(seen[1]!));
  });

  it('writes a failure for a 200 that is not a chat completion', async () => {
    const { results } = await send(rows(3), (req) => (userText(req) === 'row r0' ? { body: '<html>proxy</html>' } : userText(req) === 'row r1' ? { body: { error: 'overloaded' } } : {}));
    const byId = Object.fromEntries(results.map((r) => [r.customId, r]));
    expect(byId.r2!.ok).toBe(true);
    for (const id of ['r0', 'r1']) {
      expect(byId[id]!.ok).toBe(false);
      expect(JSON.parse(byId[id]!.line)).toMatchObject({ response: { status_code: 200, body: null }, error: { code: 'invalid_response' } });
      expect(resultFromLine(byId[id]!.line, { source: 'x', order: 0 })).toMatchObject({ explanation: null, error: { reason: 'request_error' } });
    }
  });

  it('stops the run on 401, without the key in the message or any line', async () => {
    const key = 'sk-very-secret-key-0123456789';
    const { results, error, seen } = await send(rows(5), (req) => ({ status: 401, body: { error: { message: `Incorrect API key provided: ${req.authorization}`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } } }), { apiKey: key });
    expect(error).toMatchObject({ code: 'E_OPTION' });
    expect(String((error as Error).message)).toMatch(/HTTP 401.*--api-key-env/);
    expect(String((error as Error).message)).not.toContain(key);
    expect(results).toEqual([]);
    // The first request goes alone until its answer: one request, not five.
    expect(seen).toHaveLength(1);
  });

  it('takes the key out of what the server echoes', async () => {
    const key = 'sk-echoed-key-987';
    const { results } = await send(rows(2), (req) => ({ status: 400, body: { error: { message: `bad request from ${req.authorization}`, type: 'invalid_request_error', param: null, code: null } } }), { apiKey: key });
    for (const r of results) {
      expect(r.line).not.toContain(key);
      expect(r.line).toContain('Bearer ***');
    }
  });

  it('stops after maxConsecutiveFailures failures in a row, saying why', async () => {
    const { results, error, seen } = await send(rows(40), () => ({ status: 404, body: { error: { message: 'The model `tiny` does not exist.', type: 'NotFoundError', param: null, code: null } } }), { maxConsecutiveFailures: 5, concurrency: 2 });
    expect(error).toMatchObject({ code: 'E_INPUT' });
    expect(String((error as Error).message)).toMatch(/last 5 requests all failed \(last: HTTP 404: The model `tiny` does not exist\.\)/);
    // Four failures were written before the fifth stopped the run (fewer when answers crossed).
    expect(results.length).toBeLessThanOrEqual(4);
    expect(results.every((r) => !r.ok)).toBe(true);
    expect(seen.length).toBeLessThan(10);
  });

  it('fails a request the server cannot be reached for, once out of retries', async () => {
    const server = await startTinyServer();
    const url = server.url;
    await server.close();
    const stage = sendDirect({ baseUrl: url, retries: 1, minRetryDelayMs: 5 });
    const results: DirectResult[] = [];
    for await (const r of stage(from(rows(2)))) results.push(r);
    expect(results.map((r) => JSON.parse(r.line))).toEqual([
      expect.objectContaining({ response: null, error: expect.objectContaining({ code: 'ECONNREFUSED' }) }),
      expect.objectContaining({ response: null, error: expect.objectContaining({ code: 'ECONNREFUSED' }) }),
    ]);
    expect(stage.stats).toMatchObject({ failed: 2, retries: 2 });
  });

  it('follows a shared limiter: --rpm spaces the requests the server sees', async () => {
    const { seen } = await send(rows(6), () => ({}), { concurrency: 6, limiter: new RateLimiter({ rpm: 600 }) });
    const at = seen.map((s) => s.at).sort((a, b) => a - b);
    // Five intervals of 100 ms; one left as slack for the arrival times (a busy machine only spaces
    // them more). Without the cap they arrive within a few milliseconds.
    expect(at.at(-1)! - at[0]!).toBeGreaterThanOrEqual(400);
  });

  it('sends no secret over plain http to another machine unless allowed; loopback and https are fine', async () => {
    const fetched: string[] = [];
    const fetch = async (url: string) => (fetched.push(url), new Response(JSON.stringify(completion('ok')), { status: 200 }));
    for (const baseUrl of ['http://lab-box:8000/v1', 'http://10.0.0.5/v1', 'http://[fe80::1]/v1', 'http://0.0.0.0:8000/v1']) {
      expect(() => sendDirect({ baseUrl, apiKey: 'sk-x', fetch }), baseUrl).toThrow(/an API key would cross the network unencrypted .*--allow-http-key/);
      expect(() => sendDirect({ baseUrl, fetch }), baseUrl).not.toThrow();
    }
    // Credentials in the URL count as a secret, and the message does not show them.
    expect(() => sendDirect({ baseUrl: 'http://alice:pw-4242@lab-box/v1', fetch })).toThrow(/credentials in the URL/);
    expect(() => sendDirect({ baseUrl: 'http://alice:pw-4242@lab-box/v1', fetch })).not.toThrow(/pw-4242|alice/);
    for (const baseUrl of ['http://127.0.0.1:8000/v1', 'http://127.8.0.1/v1', 'http://[::1]:8000/v1', 'http://localhost:11434/v1', 'http://vllm.localhost/v1', 'https://lab-box/v1']) {
      expect(() => sendDirect({ baseUrl, apiKey: 'sk-x', fetch }), baseUrl).not.toThrow();
    }
    const stage = sendDirect({ baseUrl: 'http://lab-box:8000/v1', apiKey: 'sk-x', allowHttpKey: true, fetch });
    for await (const r of stage(from(rows(1)))) expect(r.ok).toBe(true);
    expect(fetched).toEqual(['http://lab-box:8000/v1/chat/completions']);
  });

  it('shows the URL without user:pass@ in failure lines and messages, and takes them out of what the server echoes', async () => {
    const closed = await startTinyServer();
    await closed.close();
    const unreachable = closed.url.replace('//', '//alice:s3cret-pw@');
    const stage = sendDirect({ baseUrl: unreachable, retries: 0, maxConsecutiveFailures: 2 });
    const results: DirectResult[] = [];
    const error = await (async () => {
      for await (const r of stage(from(rows(3)))) results.push(r);
    })().catch((err: unknown) => err);
    expect(results.length).toBeGreaterThan(0);
    for (const r of results) expect(JSON.parse(r.line).error.message).toContain(`${closed.url}/chat/completions: `);
    expect(String((error as Error).message)).toMatch(/last 2 requests all failed/);
    for (const text of [String((error as Error).message), ...results.map((r) => r.line)]) expect(text).not.toMatch(/s3cret-pw|alice/);

    const server = await startTinyServer((req, n) => (n === 1 ? { status: 400, body: { error: { message: `refused at ${server.url.replace('//', '//alice:s3cret-pw@')}` } } } : { status: 401, body: {} }));
    try {
      const stage = sendDirect({ baseUrl: server.url.replace('//', '//alice:s3cret-pw@'), concurrency: 1 });
      const results: DirectResult[] = [];
      const error = await (async () => {
        for await (const r of stage(from(rows(2)))) results.push(r);
      })().catch((err: unknown) => err);
      // The credentials went as HTTP basic auth, to the server only.
      expect(server.seen[0]!.authorization).toBe(`Basic ${Buffer.from('alice:s3cret-pw').toString('base64')}`);
      expect(results[0]!.line).toContain(`refused at http://***@127.0.0.1`);
      expect(String((error as Error).message)).toContain(`${server.url}/chat/completions refused the request with HTTP 401`);
      for (const text of [String((error as Error).message), results[0]!.line]) expect(text).not.toMatch(/s3cret-pw|alice/);
    } finally {
      await server.close();
    }
  });

  it('checks its options', () => {
    expect(() => sendDirect({ baseUrl: 'ftp://x' })).toThrow(/option baseUrl/);
    expect(() => sendDirect({ baseUrl: 'not a url' })).toThrow(/option baseUrl/);
    // A URL refused is quoted without its credentials, parsed or not.
    expect(() => sendDirect({ baseUrl: 'ftp://bob:pw-777@x' })).toThrow(/option baseUrl: .*got "ftp:\/\/x\/"$/);
    expect(() => sendDirect({ baseUrl: 'http//bob:pw-777@x y' })).toThrow(/option baseUrl: .*got "http\/\/x y"$/);
    expect(() => sendDirect({ baseUrl: 'http://x/v1', concurrency: 0 })).toThrow(/option concurrency/);
    expect(() => sendDirect({ baseUrl: 'http://x/v1', retries: -1 })).toThrow(/option retries/);
    expect(chatEndpoint('http://127.0.0.1:8000/v1/')).toBe('http://127.0.0.1:8000/v1/chat/completions');
    expect(chatEndpoint('http://h/openai/v1/chat/completions')).toBe('http://h/openai/v1/chat/completions');
  });
});

describe('directResultsSink', () => {
  it('appends lines to direct-<n> files, the next n on each run, creating only the files it writes to', async () => {
    const dir = await tempDir('be-sink-');
    const first = directResultsSink({ dir });
    first.write({ customId: 'a', ok: true, line: '{"custom_id":"a"}' });
    first.write({ customId: 'b', ok: false, line: '{"custom_id":"b"}' });
    first.write({ customId: 'c', ok: true, line: '{"custom_id":"c"}' });
    await first.close();
    expect(await readFile(first.outputPath, 'utf8')).toBe('{"custom_id":"a"}\n{"custom_id":"c"}\n');
    expect(await readFile(first.errorsPath, 'utf8')).toBe('{"custom_id":"b"}\n');
    expect(first.outputPath).toMatch(/direct-1\.output\.jsonl$/);
    const second = directResultsSink({ dir, syncEveryLines: 1 });
    second.write({ customId: 'd', ok: true, line: '{"custom_id":"d"}' });
    await second.close();
    expect(second.outputPath).toMatch(/direct-2\.output\.jsonl$/);
    await expect(readFile(second.errorsPath)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(first.counts).toEqual({ output: 2, errors: 1 });
  });
});
