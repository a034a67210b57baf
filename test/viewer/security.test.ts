import { readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startViewer, type Viewer } from '../../src/viewer/server.js';
import { tempDir } from '../helpers/server.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const merged = path.join(fixtures, 'merged.jsonl');
const errors = path.join(fixtures, 'merged.jsonl.errors.jsonl');

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with exactly these headers (Host defaults to 127.0.0.1:port, as a browser sends it). */
function send(port: number, rawPath: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: rawPath, method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** File descriptors of this process open on `file`. */
function handlesOn(file: string): number {
  const real = realpathSync(file);
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === real;
    } catch {
      return false;
    }
  }).length;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('the viewer refuses what other pages may ask of it', () => {
  let viewer: Viewer;
  let port: number;
  const exportBody = JSON.stringify({ rows: [0] });

  beforeAll(async () => {
    viewer = await startViewer({ input: merged, errors, port: 0, sharp: null });
    port = Number(new URL(viewer.url).port);
  });
  afterAll(() => viewer?.close());

  it('an Origin other than its own is refused (403); its own, or none, is answered', async () => {
    for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${port + 1}`, `https://127.0.0.1:${port}`, `http://localhost:${port}`]) {
      const r = await send(port, '/api/summary', { headers: { origin } });
      expect(r.status, origin).toBe(403);
      expect(JSON.parse(r.body).error, origin).toMatch(/requests from other pages are refused/);
    }
    expect((await send(port, '/api/summary', { headers: { origin: `http://127.0.0.1:${port}` } })).status).toBe(200);
    expect((await send(port, '/api/summary', { headers: { host: `localhost:${port}`, origin: `http://localhost:${port}` } })).status).toBe(200);
    expect((await send(port, '/api/summary')).status).toBe(200);
  });

  it('Sec-Fetch-Site other than same-origin or none is refused, but a link from elsewhere still opens the page', async () => {
    for (const site of ['cross-site', 'same-site']) {
      for (const p of ['/api/summary', '/api/rows?q=a', '/api/rows/0/thumb', '/assets/viewer.mjs']) {
        expect((await send(port, p, { headers: { 'sec-fetch-site': site } })).status, `${site} ${p}`).toBe(403);
      }
      const exported = await send(port, '/api/export', { method: 'POST', headers: { 'sec-fetch-site': site, 'content-type': 'application/json' }, body: exportBody });
      expect(exported.status, site).toBe(403);
      const page = await send(port, '/', { headers: { 'sec-fetch-site': site, 'sec-fetch-mode': 'navigate' } });
      expect(page.status, site).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
    }
    for (const site of ['same-origin', 'none']) expect((await send(port, '/api/summary', { headers: { 'sec-fetch-site': site } })).status, site).toBe(200);
  });

  it('POST /api/export takes application/json only (no form or text/plain a page may send without asking)', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx']) {
      const r = await send(port, '/api/export', { method: 'POST', headers: { 'content-type': type }, body: exportBody });
      expect(r.status, type).toBe(415);
      expect(JSON.parse(r.body).error).toMatch(/expected a JSON body \(content-type: application\/json\)/);
    }
    expect((await send(port, '/api/export', { method: 'POST', body: exportBody })).status).toBe(415);
    const ok = await send(port, '/api/export', { method: 'POST', headers: { 'content-type': 'Application/JSON; charset=utf-8' }, body: exportBody });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('{"id":"armeme-0001","flags":[]}\n');
  });
});

describe('the viewer listens before it indexes', () => {
  it('a port in use is reported before the file is read, and nothing is left open', async () => {
    const v = await startViewer({ input: merged, port: 0, sharp: null });
    const port = Number(new URL(v.url).port);
    try {
      const before = handlesOn(merged);
      await expect(startViewer({ input: merged, errors, port })).rejects.toThrow(/port \d+ on 127\.0\.0\.1 is in use: pass --port 0/);
      expect(handlesOn(merged)).toBe(before);
      expect(handlesOn(errors)).toBe(0);
      // The file is not even looked at: a missing one gets the port's error.
      await expect(startViewer({ input: path.join(fixtures, 'nothing.jsonl'), port })).rejects.toThrow(/port \d+ on 127\.0\.0\.1 is in use/);
    } finally {
      await v.close();
    }
  });

  it('answers 503 while indexing, then the rows; an index that fails frees the port', async () => {
    const dir = await tempDir('be-view-sec-');
    const input = path.join(dir, 'm.jsonl');
    // Enough rows that indexing takes ~250 turns of the event loop (it yields every 4,096 rows); an answer takes a few.
    const rows = 1_000_000;
    await writeFile(input, Array.from({ length: rows }, (_, i) => `{"id":${i}}\n`).join(''));
    const port = await freePort();
    const starting = startViewer({ input, port, sharp: null });
    let settled = false;
    starting.then(
      () => (settled = true),
      () => (settled = true),
    );
    let first: Answer | null = null;
    while (first === null && !settled) {
      first = await send(port, '/api/summary').catch(() => null); // refused until it listens
      if (first === null) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(first, 'an answer before the index was built').not.toBeNull();
    expect(first!.status).toBe(503);
    expect(first!.headers['retry-after']).toBe('1');
    expect(JSON.parse(first!.body).error).toMatch(/indexing the file: try again in a moment/);
    // The page itself is served meanwhile.
    expect((await send(port, '/')).status).toBe(200);
    const v = await starting;
    try {
      expect(JSON.parse((await send(port, '/api/summary')).body)).toMatchObject({ rows });
    } finally {
      await v.close();
    }
    // An errors file that is not this file's: the index fails, the server is closed, the port free again.
    const wrong = path.join(dir, 'e.jsonl');
    await writeFile(wrong, '{"line": 1, "id": "someone-else", "reason": "api_error"}\n');
    await expect(startViewer({ input, errors: wrong, port, sharp: null })).rejects.toThrow(/is for id "someone-else"/);
    expect(handlesOn(input)).toBe(0);
    const again = await startViewer({ input: merged, port, sharp: null });
    await again.close();
  });
});
