import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { toFile } from 'openai';
import { jsonlFile, requestLine, startTestServer, waitForBatch } from '../helpers/server.js';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';

const loadBench = fileURLToPath(new URL('../../bench/load.mjs', import.meta.url));

describe('local server limits', () => {
  it('processes at most maxRunningBatches at once, the others wait their turn; a waiting batch is cancelled at once', { timeout: 60_000 }, async () => {
    const { server, client } = await startTestServer({ maxRunningBatches: 2, concurrency: 1, faults: { lineDelayMs: 40 } });
    try {
      const ids: string[] = [];
      for (let b = 0; b < 6; b++) {
        const file = await client.files.create({ file: createReadStream(await jsonlFile([0, 1, 2].map((i) => requestLine(`b${b}-${i}`)))), purpose: 'batch' });
        ids.push((await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
      }
      const cancelled = await client.batches.cancel(ids[5]!);
      expect(cancelled.status).toBe('cancelling');
      let most = 0;
      const busy = () => [...server.store.batches.values()].filter((r) => r.batch.status === 'in_progress').length;
      for (let i = 0; i < 1500 && [...server.store.batches.values()].some((r) => !['completed', 'cancelled'].includes(r.batch.status)); i++) {
        most = Math.max(most, busy());
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(most).toBeGreaterThan(0);
      expect(most).toBeLessThanOrEqual(2);
      for (const id of ids.slice(0, 5)) expect((await waitForBatch(client, id)).request_counts).toEqual({ total: 3, completed: 3, failed: 0 });
      expect((await waitForBatch(client, ids[5]!)).status).toBe('cancelled');
    } finally {
      await server.close();
    }
  });

  it('receives at most maxUploads at once: the next upload waits, unread, until one is done', { timeout: 60_000 }, async () => {
    const { server, client, dataDir } = await startTestServer({ maxUploads: 1 });
    try {
      // A slow upload holds the only turn: its body comes in two halves, cut inside the file's content.
      const body = `--x\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--x\r\nContent-Disposition: form-data; name="file"; filename="slow.jsonl"\r\n\r\n${requestLine('slow')}\n\r\n--x--\r\n`;
      const cut = body.indexOf('\r\n\r\n', body.indexOf('filename=')) + 4 + 10;
      const socket = connect(server.port, '127.0.0.1');
      const answer = new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (c: Buffer) => {
          text += c;
          if (text.includes('"id"')) resolve(text);
        });
      });
      socket.write(`POST /v1/files HTTP/1.1\r\nhost: x\r\ncontent-type: multipart/form-data; boundary=x\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, cut)}`);
      // It has the turn once the server writes its content (not after some time: the machine may be busy).
      await expect.poll(async () => (await readdir(path.join(dataDir, 'files'))).some((f) => f.endsWith('.partial')), { timeout: 30_000, interval: 10 }).toBe(true);
      let second: string | null = null;
      const pending = client.files.create({ file: await toFile(Buffer.from(requestLine('next')), 'next.jsonl'), purpose: 'batch' }).then((f) => (second = f.id));
      await new Promise((r) => setTimeout(r, 500));
      expect(second).toBeNull();
      socket.write(body.slice(cut));
      expect(await answer).toMatch(/^HTTP\/1.1 200/);
      await pending;
      expect(second).toMatch(/^file-/);
      socket.destroy();
      expect((await client.files.list()).data.map((f) => f.filename).sort()).toEqual(['next.jsonl', 'slow.jsonl']);
    } finally {
      await server.close();
    }
  });
});

describe('load', () => {
  it('100 clients (the official client) against one `serve` limited to 256 open files: no failed request, every batch completed and checked', { timeout: 300_000 }, async () => {
    // Without the bounds on running batches and uploads, `serve` runs out of descriptors here and dies.
    const result = await new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
      const child = spawn('bash', ['-c', `ulimit -n 256 && exec "${process.execPath}" "${loadBench}" --clients 100 --deadline-s 240 --json`], { stdio: ['ignore', 'pipe', 'pipe'], cwd: path.dirname(loadBench) });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c));
      child.stderr.on('data', (c: Buffer) => (err += c));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out, err }));
    });
    expect(result.code, result.err + result.out).toBe(0);
    const summary = JSON.parse(result.out.trim().split('\n').at(-1)!);
    expect(summary).toMatchObject({ clients: 100, failures: 0, batchesCompleted: 100 });
    // Each client: an upload, a create, at least one poll, a download.
    expect(summary.requests).toBeGreaterThanOrEqual(400);
    expect(summary.serverPeakRssMb).toBeGreaterThan(0);
  });
});
