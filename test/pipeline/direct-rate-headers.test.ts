import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bodySkeleton, bodyTokens } from '../../src/core/direct/direct-request.js';
import { loadTextCounter } from '../../src/core/requests/token-estimate.js';
import { sendDataset, sendRequestLines, type DirectOptions } from '../../src/pipeline/direct.js';
import { requestLineBuilder } from '../../src/core/requests/request-line.js';
import { segmentsToString } from '../../src/core/shards/line-writer.js';
import { fixedWindow, startTinyServer } from '../helpers/direct-server.js';
import { requestLine, tempDir } from '../helpers/server.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));

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
    const countText = await loadTextCounter('o200k_base');
    const cost = bodyTokens(bodySkeleton(Buffer.from(JSON.stringify({ ...JSON.parse(requestLine('r0')).body, max_tokens: 100 }))), countText);
    // Two requests' worth of tokens per window (the server counts as direct mode estimates).
    const limit = fixedWindow({ tokens: 2 * cost + 5, windowMs: 400, countText });
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

  // gpt-4o-mini bills an image 2833 + 5667 tokens a tile: a request is ~8.6k tokens, and two fit
  // in the windows below. Counted as a fixed 765 per image (the rough bound direct mode used to
  // have), eleven would seem to fit, and the server would answer 429s.
  it('tokens, from a dataset: each request counts as the build estimated it, plus its max_tokens', async () => {
    const dir = await tempDir('be-direct-rate-data-');
    const dataset = path.join(dir, 'data.jsonl');
    await writeFile(dataset, Array.from({ length: 6 }, (_, i) => `${JSON.stringify({ id: `d-${i}`, img_path: path.join(fixtures, 'images', 'face.png'), class_label: 'hateful', text: `row d-${i}` })}\n`).join(''));
    const countText = await loadTextCounter('o200k_base');
    const limit = fixedWindow({ tokens: 20_000, windowMs: 400, countText });
    const server = await startTinyServer(limit.handler);
    try {
      const summary = await sendDataset({
        baseUrl: server.url,
        resultsDir: path.join(dir, 'results'),
        rejectsPath: path.join(dir, 'rejects.jsonl'),
        minRetryDelayMs: 10,
        concurrency: 6,
        build: { dataset, template: 'Explain why this meme is {}.', model: 'gpt-4o-mini', maxTokens: 50 },
      });
      expect(summary).toMatchObject({ read: 6, succeeded: 6, failed: 0, rateLimited: 0 });
      expect(limit.state.over).toBe(0);
      const costs = limit.state.windows.map((w) => w.tokens);
      expect(Math.max(...costs)).toBeGreaterThan(2 * 8_500);
      expect(Math.max(...costs)).toBeLessThanOrEqual(20_000);
      expect(limit.state.windows.length).toBeGreaterThanOrEqual(3);
    } finally {
      await server.close();
    }
  });

  it('tokens, from request lines: each is estimated from its body as the build would have', async () => {
    const image = { mime: 'image/png' as const, data: await readFile(path.join(fixtures, 'images', 'face.png')) };
    const build = requestLineBuilder({ model: 'gpt-4o-mini', maxTokens: 50 });
    const lines = Array.from({ length: 6 }, (_, i) => `${segmentsToString(build({ line: i + 1, id: `r${i}`, prompt: `why ${i}?`, image }).segments)}\n`);
    const countText = await loadTextCounter('o200k_base');
    const cost = bodyTokens(bodySkeleton(Buffer.from(JSON.stringify(JSON.parse(lines[0]!).body))), countText);
    expect(cost).toBe(50 + 7 + countText('why 0?') + 2833 + 5667);
    const limit = fixedWindow({ tokens: 2 * cost + 5, windowMs: 400, countText });
    const server = await startTinyServer(limit.handler);
    try {
      const dir = await tempDir('be-direct-rate-');
      const summary = await sendRequestLines({ baseUrl: server.url, resultsDir: path.join(dir, 'results'), rejectsPath: path.join(dir, 'rejects.jsonl'), requests: ['-'], stdin: Readable.from(lines), minRetryDelayMs: 10, concurrency: 6 });
      expect(summary).toMatchObject({ read: 6, succeeded: 6, failed: 0, rateLimited: 0 });
      expect(limit.state.over).toBe(0);
      expect(limit.state.windows.length).toBeGreaterThanOrEqual(3);
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
      const cost = bodyTokens(bodySkeleton(Buffer.from(JSON.stringify({ ...JSON.parse(requestLine('r0')).body, max_tokens: 50 }))), await loadTextCounter('o200k_base'));
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
