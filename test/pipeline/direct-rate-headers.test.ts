import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { estimateBodyTokens } from '../../src/core/direct-request.js';
import { sendRequestLines, type DirectOptions } from '../../src/pipeline/direct.js';
import { fixedWindow, startTinyServer } from '../helpers/direct-server.js';
import { requestLine, tempDir } from '../helpers/server.js';

/** `n` request lines with `max_tokens` each, sent through the whole direct pipeline to `url`. */
async function sendLines(url: string, n: number, options: Partial<DirectOptions> & { maxTokens?: number } = {}) {
  const dir = await tempDir('be-direct-rate-');
  const lines = Array.from({ length: n }, (_, i) => {
    const line = JSON.parse(requestLine(`r${i}`)) as { body: { max_tokens: number } };
    line.body.max_tokens = options.maxTokens ?? 16;
    return `${JSON.stringify(line)}\n`;
  });
  return sendRequestLines({
    baseUrl: url,
    resultsDir: path.join(dir, 'results'),
    rejectsPath: path.join(dir, 'rejects.jsonl'),
    requests: ['-'],
    stdin: Readable.from(lines),
    minRetryDelayMs: 10,
    ...options,
  });
}

describe('direct mode follows the rate limits a server announces', () => {
  it('control: a client that ignores the headers runs into the limit (the check below can fail)', async () => {
    const limit = fixedWindow({ requests: 4, windowMs: 2000 });
    const server = await startTinyServer(limit.handler);
    try {
      const body = JSON.parse(requestLine('x')).body;
      const statuses = await Promise.all(Array.from({ length: 12 }, () => fetch(`${server.url}/chat/completions`, { method: 'POST', body: JSON.stringify(body) }).then((r) => r.status)));
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
      expect(limit.state.over).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it('requests: x-ratelimit-remaining-requests / -reset-requests keep every window within its limit (no 429)', async () => {
    const limit = fixedWindow({ requests: 4, windowMs: 400 });
    const server = await startTinyServer(limit.handler);
    try {
      const summary = await sendLines(server.url, 16, { concurrency: 8 });
      expect(summary).toMatchObject({ read: 16, succeeded: 16, failed: 0, rateLimited: 0 });
      expect(limit.state.over).toBe(0);
      expect(limit.state.windows.length).toBeGreaterThanOrEqual(4);
      expect(Math.max(...limit.state.windows.map((w) => w.requests))).toBeLessThanOrEqual(4);
      expect(summary.rateLimitWaits).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it('tokens: x-ratelimit-remaining-tokens / -reset-tokens hold back requests that would not fit', async () => {
    const cost = estimateBodyTokens(Buffer.from(JSON.stringify({ ...JSON.parse(requestLine('r0')).body, max_tokens: 100 })));
    // Two requests' worth of tokens per window.
    const limit = fixedWindow({ tokens: 2 * cost + 5, windowMs: 400 });
    const server = await startTinyServer(limit.handler);
    try {
      const summary = await sendLines(server.url, 8, { concurrency: 8, maxTokens: 100 });
      expect(summary).toMatchObject({ succeeded: 8, failed: 0, rateLimited: 0 });
      expect(limit.state.over).toBe(0);
      expect(Math.max(...limit.state.windows.map((w) => w.tokens))).toBeLessThanOrEqual(2 * cost + 5);
      expect(limit.state.windows.length).toBeGreaterThanOrEqual(4);
    } finally {
      await server.close();
    }
  });

  it('recovers from 429s of a server that only says Retry-After, answering every request', async () => {
    // A server without x-ratelimit headers: over its limit it answers 429 with retry-after-ms only.
    const limit = fixedWindow({ requests: 3, windowMs: 300 });
    const server = await startTinyServer((req) => {
      const a = limit.handler(req);
      return { ...a, headers: Object.fromEntries(Object.entries(a.headers ?? {}).filter(([k]) => !k.startsWith('x-ratelimit'))) };
    });
    try {
      const summary = await sendLines(server.url, 12, { concurrency: 6, retries: 20 });
      expect(summary).toMatchObject({ succeeded: 12, failed: 0 });
      expect(summary.rateLimited).toBe(limit.state.over);
      expect(summary.rateLimited).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it('--tpm spaces requests by their estimated tokens (seen on the server)', async () => {
    const server = await startTinyServer();
    try {
      const cost = estimateBodyTokens(Buffer.from(JSON.stringify({ ...JSON.parse(requestLine('r0')).body, max_tokens: 50 })));
      // 250 ms per request.
      const tpm = (cost * 60_000) / 250;
      await sendLines(server.url, 5, { concurrency: 5, maxTokens: 50, tpm });
      const at = server.seen.map((s) => s.at).sort((a, b) => a - b);
      // Four intervals of 250 ms between the first and the last request; one interval is left as
      // slack for the arrival times (the first request also opens the connection). Without the
      // cap all five arrive within a few milliseconds.
      expect(at.at(-1)! - at[0]!).toBeGreaterThanOrEqual(3 * 250);
    } finally {
      await server.close();
    }
  });
});
