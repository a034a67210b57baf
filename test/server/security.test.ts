import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { APIError, toFile } from 'openai';
import { schemaErrors } from '../helpers/openapi.js';
import { rawHttp, rawRequest, type RawResponse } from '../helpers/raw-http.js';
import { requestLine, startTestServer, tempDir } from '../helpers/server.js';
import { CLI } from '../helpers/cli.js';
import { keyChecker } from '../../src/server/server.js';

/** Every file and folder under `dir` with its size and modification time: a change anywhere shows. */
async function snapshot(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const out: string[] = [];
  for (const e of entries) {
    const p = path.join(e.parentPath, e.name);
    const s = await stat(p);
    out.push(`${path.relative(dir, p)} ${e.isDirectory() ? 'dir' : s.size} ${s.mtimeMs}`);
  }
  return out.sort();
}

function expectJsonError(r: RawResponse, what: string): void {
  expect(r.headers['content-type'], what).toMatch(/^application\/json/);
  expect(schemaErrors('current', 'ErrorResponse', JSON.parse(r.body)), what).toEqual([]);
}

describe('local server security', () => {
  it('binds 127.0.0.1 unless told otherwise (the library and `serve`, checked in /proc/net/tcp)', { timeout: 30_000 }, async () => {
    const { server } = await startTestServer();
    try {
      expect(server.address).toMatchObject({ address: '127.0.0.1', family: 'IPv4' });
      expect(new URL(server.url).hostname).toBe('127.0.0.1');
    } finally {
      await server.close();
    }
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', await tempDir(), '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c;
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        child.on('error', reject);
      });
      const port = Number(new URL(url).port);
      const hex = port.toString(16).toUpperCase().padStart(4, '0');
      // Listening sockets (state 0A) on this port, by local address: only 0100007F (127.0.0.1).
      const listening = (text: string) =>
        text.split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => f[1]?.endsWith(`:${hex}`) && f[3] === '0A').map((f) => f[1]!.split(':')[0]);
      expect(listening(await readFile('/proc/net/tcp', 'utf8'))).toEqual(['0100007F']);
      expect(listening(await readFile('/proc/net/tcp6', 'utf8').catch(() => ''))).toEqual([]);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('compares keys by constant-time digest: only the exact key passes, any length, never a throw', () => {
    const check = keyChecker('sk-test-0123456789');
    expect(check('sk-test-0123456789')).toBe(true);
    for (const wrong of [undefined, '', 'sk-test-012345678', 'sk-test-01234567890', 'sk-test-0123456788', 'SK-TEST-0123456789', 'sk-test-0123456789 ', 'x'.repeat(10_000), 'sk-test-0123456789\u0000']) {
      expect(check(wrong), JSON.stringify(wrong?.slice(0, 30))).toBe(false);
    }
    expect(keyChecker('')('')).toBe(true);
    expect(keyChecker('ключ-🔑')('ключ-🔑')).toBe(true);
  });

  it('caps bodies: an oversized upload or JSON body is a 413 JSON error, nothing is kept, and the server goes on serving', { timeout: 30_000 }, async () => {
    const { server, client, dataDir } = await startTestServer({ maxFileBytes: 4000, maxBodyBytes: 10_000 });
    try {
      const before = await snapshot(path.join(dataDir, 'files'));
      const big = Array.from({ length: 40 }, (_, i) => requestLine(`big${i}`)).join('\n');
      const refused = await client.files.create({ file: await toFile(Buffer.from(big), 'big.jsonl'), purpose: 'batch' }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(APIError);
      expect((refused as APIError).status).toBe(413);
      expect((refused as APIError).message).toMatch(/too large.*4000 bytes/);
      // Declared too large: refused before a byte of the body is read.
      const declared = await rawRequest(server.port, 'POST', '/v1/files', { 'content-type': 'multipart/form-data; boundary=x', 'content-length': '999999999999' });
      expect(declared.status).toBe(413);
      expectJsonError(declared, 'declared upload');
      const chat = await rawRequest(server.port, 'POST', '/v1/chat/completions', { 'content-type': 'application/json' }, JSON.stringify({ model: 'm', messages: [], pad: 'x'.repeat(20_000) }));
      expect(chat.status).toBe(413);
      expectJsonError(chat, 'chat body');
      const batch = await rawRequest(server.port, 'POST', '/v1/batches', { 'content-type': 'application/json', 'content-length': String(2 ** 40) });
      expect(batch.status).toBe(413);
      expectJsonError(batch, 'batch body');
      expect(await snapshot(path.join(dataDir, 'files'))).toEqual(before);
      const small = await client.files.create({ file: await toFile(Buffer.from(requestLine('ok')), 'ok.jsonl'), purpose: 'batch' });
      expect(small.bytes).toBe(Buffer.byteLength(requestLine('ok')));
    } finally {
      await server.close();
    }
  });

  it('treats file and batch ids as opaque: traversal, encoded slashes, absolute paths and NUL get 404/400 JSON; nothing outside the data folder is read or written', { timeout: 30_000 }, async () => {
    const base = await tempDir('be-traversal-');
    const dataDir = path.join(base, 'data');
    await mkdir(dataDir);
    const secret = path.join(base, 'secret.jsonl');
    await writeFile(secret, 'SENTINEL-outside-the-data-folder\n');
    await writeFile(path.join(base, 'file-000000000000000000000000.jsonl'), 'SENTINEL-shaped-like-an-id\n');
    const { server, client } = await startTestServer({ dataDir });
    try {
      const real = await client.files.create({ file: await toFile(Buffer.from(requestLine('a')), 'a.jsonl'), purpose: 'batch' });
      const before = await snapshot(base);
      const abs = encodeURIComponent(secret);
      const probes: Array<[string, string]> = [
        ['GET', '/v1/files/..%2F..%2Fsecret.jsonl/content'],
        ['GET', '/v1/files/..%2Fsecret/content'],
        ['GET', '/v1/files/%2e%2e%2f%2e%2e%2fsecret.jsonl/content'],
        ['GET', '/v1/files/..%252F..%252Fsecret.jsonl/content'],
        ['GET', '/v1/files/..%5C..%5Csecret.jsonl/content'],
        ['GET', `/v1/files/${abs}/content`],
        ['GET', `/v1/files/${abs}`],
        ['GET', `/v1/files/${secret}/content`],
        ['GET', `/v1/files/${real.id}%2F..%2F..%2F..%2Fsecret.jsonl`],
        ['GET', `/v1/files/${real.id}%00/content`],
        ['GET', `/v1/files/${real.id}%00.json/content`],
        ['GET', '/v1/files/%00/content'],
        ['GET', '/v1/files/file-000000000000000000000000%2F..%2F..%2Ffile-000000000000000000000000/content'],
        ['GET', '/v1/files/file-..%2F..%2F..%2Fsecret/content'],
        ['GET', '/v1/batches/..%2F..%2Fsecret'],
        ['GET', '/v1/batches/batch_..%2Ffiles'],
        ['GET', `/v1/batches/${abs}`],
        ['POST', '/v1/batches/..%2F..%2Fsecret/cancel'],
        ['DELETE', '/v1/files/..%2F..%2Fsecret.jsonl'],
        ['DELETE', `/v1/files/${abs}`],
        ['DELETE', '/v1/files/%2e%2e'],
        ['GET', '/v1/files/%E0%A4%A/content'],
        ['GET', '/v1/../../secret.jsonl'],
        ['GET', '/openai/../../secret.jsonl?api-version=2024-10-21'],
      ];
      for (const [method, p] of probes) {
        const r = await rawRequest(server.port, method, p);
        expect([400, 404], `${method} ${p}: ${r.status}`).toContain(r.status);
        expectJsonError(r, `${method} ${p}`);
        expect(r.body).not.toContain('SENTINEL');
      }
      for (const inputFileId of ['../secret.jsonl', secret, '../../file-000000000000000000000000', `${real.id}/../x`, `${real.id}\u0000`]) {
        const r = await rawRequest(server.port, 'POST', '/v1/batches', { 'content-type': 'application/json' }, JSON.stringify({ input_file_id: inputFileId, endpoint: '/v1/chat/completions', completion_window: '24h' }));
        expect(r.status, inputFileId).toBe(404);
        expectJsonError(r, inputFileId);
      }
      expect(await snapshot(base)).toEqual(before);
      expect(await readFile(secret, 'utf8')).toBe('SENTINEL-outside-the-data-folder\n');
      expect((await client.files.retrieve(real.id)).id).toBe(real.id);
    } finally {
      await server.close();
    }
  });

  it('answers malformed requests with 4xx JSON, never a crash: bad JSON, wrong content-type, truncated multipart, unknown routes, huge headers, garbage', { timeout: 30_000 }, async () => {
    const { server, client, dataDir } = await startTestServer();
    try {
      const json = { 'content-type': 'application/json' };
      const cases: Array<[string, Promise<RawResponse>, number]> = [
        ['bad JSON', rawRequest(server.port, 'POST', '/v1/batches', json, '{"input_file_id": '), 400],
        ['JSON not an object', rawRequest(server.port, 'POST', '/v1/batches', json, '"x"'), 400],
        ['text/plain body', rawRequest(server.port, 'POST', '/v1/batches', { 'content-type': 'text/plain' }, '{}'), 415],
        ['form body to chat', rawRequest(server.port, 'POST', '/v1/chat/completions', { 'content-type': 'application/x-www-form-urlencoded' }, 'a=b'), 415],
        ['JSON to the upload route', rawRequest(server.port, 'POST', '/v1/files', json, '{}'), 400],
        ['multipart without its boundary', rawRequest(server.port, 'POST', '/v1/files', { 'content-type': 'multipart/form-data' }, 'abc'), 400],
        ['multipart cut before its end', rawRequest(server.port, 'POST', '/v1/files', { 'content-type': 'multipart/form-data; boundary=x' }, '--x\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--x\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n{"a":'), 400],
        ['unknown root', rawRequest(server.port, 'GET', '/'), 404],
        ['unknown resource', rawRequest(server.port, 'GET', '/v1/nothing-here'), 404],
        ['wrong method', rawRequest(server.port, 'PUT', '/v1/files'), 404],
        ['Azure path without api-version', rawRequest(server.port, 'GET', '/openai/batches'), 404],
        ['Azure api-version without the Batch API', rawRequest(server.port, 'GET', '/openai/batches?api-version=banana'), 400],
        ['huge headers', rawRequest(server.port, 'GET', '/v1/batches', { 'x-padding': 'x'.repeat(64 * 1024) }), 431],
        ['garbage request line', rawHttp(server.port, 'HELLO THERE\r\n\r\n'), 400],
        ['bad header bytes', rawHttp(server.port, 'GET /v1/batches HTTP/1.1\r\nhost: x\r\nbad header\r\n\r\n'), 400],
        ['bad content-length', rawHttp(server.port, 'POST /v1/batches HTTP/1.1\r\nhost: x\r\ncontent-length: -5\r\n\r\n'), 400],
      ];
      for (const [what, pending, status] of cases) {
        const r = await pending;
        expect(r.status, `${what}: ${r.body}`).toBe(status);
        expectJsonError(r, what);
      }
      // A body cut off by the client going away: no answer is possible; nothing is kept.
      const socket = connect(server.port, '127.0.0.1');
      socket.write('POST /v1/files HTTP/1.1\r\nhost: x\r\ncontent-type: multipart/form-data; boundary=x\r\ncontent-length: 100000\r\n\r\n');
      socket.write(`--x\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n${'y'.repeat(500)}`);
      await new Promise((r) => setTimeout(r, 300));
      socket.destroy();
      // Cleaned up once the server sees the connection gone: waited for, not timed.
      await expect.poll(async () => (await readdir(path.join(dataDir, 'files'))).filter((f) => f.includes('partial')), { timeout: 30_000 }).toEqual([]);
      expect((await client.batches.list()).data).toEqual([]);
      expect((await client.files.list()).data).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
