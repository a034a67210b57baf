import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import OpenAI, { AuthenticationError, AzureOpenAI, toFile } from 'openai';
import { request } from 'undici';
import { schemaErrors } from '../helpers/openapi.js';
import { fileText, jsonlFile, requestLine, startTestServer, waitForBatch } from '../helpers/server.js';
import { startBatchServer } from '../../src/server/server.js';

describe('local server: auth, Azure shapes, chat, faults, restarts, hostile requests', () => {
  it('checks the key from Authorization: Bearer or Azure api-key; a wrong or missing key is a 401', async () => {
    const { server, client } = await startTestServer({ apiKey: 'sk-right' });
    try {
      expect((await client.batches.list()).data).toEqual([]);
      const wrong = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
      await expect(wrong.batches.list()).rejects.toBeInstanceOf(AuthenticationError);
      const none = await request(`${server.url}/v1/batches`);
      expect(none.statusCode).toBe(401);
      expect(schemaErrors('current', 'ErrorResponse', await none.body.json())).toEqual([]);
      const azure = new AzureOpenAI({ endpoint: server.url, apiKey: 'sk-right', apiVersion: '2024-10-21', maxRetries: 0 });
      expect((await azure.batches.list()).data).toEqual([]);
      const azureWrong = new AzureOpenAI({ endpoint: server.url, apiKey: 'sk-other', apiVersion: '2024-10-21', maxRetries: 0 });
      await expect(azureWrong.batches.list()).rejects.toBeInstanceOf(AuthenticationError);
    } finally {
      await server.close();
    }
  });

  it('speaks Azure: dated api-version paths and /openai/v1/, deployments for chat, an error file always', async () => {
    const { server } = await startTestServer();
    try {
      const dated = new AzureOpenAI({ endpoint: server.url, apiKey: 'k', apiVersion: '2024-10-21', maxRetries: 0 });
      const uploaded = await dated.files.create({ file: await toFile(Buffer.from(`${requestLine('a', { url: '/chat/completions' })}\n`), 'a.jsonl'), purpose: 'batch' });
      expect(uploaded.status).toBe('pending');
      const file = await dated.files.waitForProcessing(uploaded.id, { pollInterval: 50 });
      const batch = await dated.batches.create({ input_file_id: file.id, endpoint: '/chat/completions' as never, completion_window: '24h' });
      const done = await waitForBatch(dated as unknown as OpenAI, batch.id);
      expect(done).toMatchObject({ status: 'completed', request_counts: { total: 1, completed: 1, failed: 0 } });
      expect(done.error_file_id).toBeTypeOf('string');
      expect(await fileText(dated as unknown as OpenAI, done.error_file_id!)).toBe('');
      const v1 = new OpenAI({ baseURL: `${server.url}/openai/v1/`, apiKey: 'k', maxRetries: 0 });
      expect((await v1.batches.retrieve(batch.id)).id).toBe(batch.id);
      const chat = await new AzureOpenAI({ endpoint: server.url, apiKey: 'k', apiVersion: '2024-10-21', deployment: 'gpt-4o-batch' }).chat.completions.create({
        model: '',
        messages: [{ role: 'user', content: 'A human expert labelled this meme as: hateful\nText extracted: hi' }],
      });
      expect(schemaErrors('current', 'CreateChatCompletionResponse', chat)).toEqual([]);
      const noVersion = await request(`${server.url}/openai/batches`);
      expect(noVersion.statusCode).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('answers single chat completions with spec-valid responses, in the field a json_schema names', async () => {
    const { server, client } = await startTestServer();
    try {
      const chat = await client.chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'A human expert labelled this meme as: not-hateful\nText extracted: good morning' }] }],
        response_format: { type: 'json_schema', json_schema: { name: 'e', strict: true, schema: { type: 'object', properties: { why: { type: 'string' } }, required: ['why'], additionalProperties: false } } },
      });
      expect(schemaErrors('current', 'CreateChatCompletionResponse', chat)).toEqual([]);
      const answer = JSON.parse(chat.choices[0]!.message.content!);
      expect(answer.why).toMatch(/not a model answer.*"not-hateful".*good morning/);
    } finally {
      await server.close();
    }
  });

  it('injects 429s with Retry-After and 500s on any route; the official client retries them through', async () => {
    const { server } = await startTestServer({ faults: { rate429: 0.3, rate500: 0.2, retryAfterSeconds: 0, seed: 3 } });
    try {
      const raw = [];
      for (let i = 0; i < 40; i++) raw.push(await request(`${server.url}/v1/batches`));
      const codes = raw.map((r) => r.statusCode);
      expect(codes).toContain(429);
      expect(codes).toContain(500);
      const limited = raw.find((r) => r.statusCode === 429)!;
      expect(limited.headers['retry-after']).toBe('0');
      for (const r of raw) await r.body.dump();
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'k', maxRetries: 20 });
      const file = await client.files.create({ file: await toFile(Buffer.from([requestLine('a'), requestLine('b')].join('\n')), 'x.jsonl'), purpose: 'batch' });
      const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
      const done = await waitForBatch(client, batch.id);
      expect(done.request_counts).toEqual({ total: 2, completed: 2, failed: 0 });
    } finally {
      await server.close();
    }
  });

  it('keeps its state in the data folder: a batch interrupted by a restart completes, each line once', async () => {
    const { server, client, dataDir } = await startTestServer({ faults: { lineDelayMs: 10 }, concurrency: 2 });
    const file = await client.files.create({ file: createReadStream(await jsonlFile(Array.from({ length: 80 }, (_, i) => requestLine(`s${i}`)))), purpose: 'batch' });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await waitForBatch(client, batch.id, (b) => b.request_counts!.completed > 5);
    await server.close();
    const again = await startBatchServer({ dataDir });
    try {
      const client2 = new OpenAI({ baseURL: `${again.url}/v1`, apiKey: 'k', maxRetries: 0 });
      const done = await waitForBatch(client2, batch.id);
      expect(done).toMatchObject({ status: 'completed', request_counts: { total: 80, completed: 80, failed: 0 } });
      const ids = (await fileText(client2, done.output_file_id!)).trim().split('\n').map((l) => JSON.parse(l).custom_id);
      expect(ids).toHaveLength(80);
      expect(new Set(ids).size).toBe(80);
      expect((await client2.files.retrieve(file.id)).id).toBe(file.id);
    } finally {
      await again.close();
    }
  });

  it('a batch cut off after its output file was recorded (killed before it was marked done) is redone without an orphan file', async () => {
    const { server, client, dataDir } = await startTestServer();
    const file = await client.files.create({ file: createReadStream(await jsonlFile(['a', 'b', 'c'].map((id) => requestLine(id)))), purpose: 'batch' });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const done = await waitForBatch(client, batch.id);
    await server.close();
    // The state a kill leaves between recording the output file and marking the batch completed.
    const recordPath = path.join(dataDir, 'batches', `${batch.id}.json`);
    const record = JSON.parse(await readFile(recordPath, 'utf8'));
    Object.assign(record.batch, { status: 'finalizing', output_file_id: null, error_file_id: null, completed_at: null });
    await writeFile(recordPath, JSON.stringify(record));
    const again = await startBatchServer({ dataDir });
    try {
      const client2 = new OpenAI({ baseURL: `${again.url}/v1`, apiKey: 'k', maxRetries: 0 });
      const redone = await waitForBatch(client2, batch.id);
      expect(redone).toMatchObject({ status: 'completed', request_counts: { total: 3, completed: 3 } });
      const outputs = [];
      for await (const f of client2.files.list()) if (f.purpose === 'batch_output') outputs.push(f.id);
      expect(outputs).toEqual([redone.output_file_id]);
      expect(redone.output_file_id).toBe(done.output_file_id);
      expect((await fileText(client2, redone.output_file_id!)).trim().split('\n')).toHaveLength(3);
    } finally {
      await again.close();
    }
  });

  it('treats ids as opaque: no path traversal into the data folder; malformed requests get 4xx JSON', async () => {
    const { server } = await startTestServer({ maxBodyBytes: 10_000 });
    try {
      const probes: Array<[string, string, number]> = [
        ['GET', '/v1/files/..%2F..%2F..%2Fetc%2Fpasswd/content', 404],
        ['GET', '/v1/files/../../etc/passwd', 404],
        ['GET', '/v1/files/file-..%2Fbatches%2Fx/content', 404],
        ['GET', '/v1/batches/..%2Ffiles', 404],
        ['DELETE', '/v1/files/%2e%2e', 404],
        ['GET', '/v2/batches', 404],
        ['PATCH', '/v1/batches', 404],
      ];
      for (const [method, path, status] of probes) {
        const r = await request(`${server.url}${path}`, { method: method as 'GET' });
        expect(r.statusCode, `${method} ${path}`).toBe(status);
        expect(schemaErrors('current', 'ErrorResponse', await r.body.json())).toEqual([]);
      }
      const post = (path: string, body: string, type = 'application/json') => request(`${server.url}${path}`, { method: 'POST', body, headers: { 'content-type': type } });
      for (const [path, body, status] of [
        ['/v1/batches', '{not json', 400],
        ['/v1/batches', '[1,2]', 400],
        ['/v1/batches', JSON.stringify({ pad: 'x'.repeat(2_000_000) }), 413],
        ['/v1/chat/completions', JSON.stringify({ model: 'm', messages: [], pad: 'x'.repeat(20_000) }), 413],
        ['/v1/chat/completions', JSON.stringify({ model: 'm' }), 400],
        ['/v1/files', 'plain text', 400],
      ] as const) {
        const r = await post(path, body);
        expect(r.statusCode, `${path} ${body.slice(0, 20)}`).toBe(status);
        expect(schemaErrors('current', 'ErrorResponse', await r.body.json())).toEqual([]);
      }
      const broken = await post('/v1/files', '--x\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc', 'multipart/form-data; boundary=x');
      expect(broken.statusCode).toBe(400);
      await broken.body.dump();
      expect((await request(`${server.url}/v1/batches`)).statusCode).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('local server: the upstream responder', () => {
  it('forwards batch lines to an OpenAI-compatible chat server and keeps its answers', async () => {
    // Another local server stands in for vLLM: its /v1/chat/completions is OpenAI-compatible.
    const { server: upstream } = await startTestServer();
    const { upstreamResponder } = await import('../../src/server/responders.js');
    const { server, client } = await startTestServer({ responder: upstreamResponder({ url: `${upstream.url}/v1`, model: 'served-model', concurrency: 2 }) });
    try {
      const file = await client.files.create({ file: await toFile(Buffer.from([requestLine('u1'), requestLine('u2')].join('\n')), 'u.jsonl'), purpose: 'batch' });
      const done = await waitForBatch(client, (await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
      expect(done.request_counts).toEqual({ total: 2, completed: 2, failed: 0 });
      const lines = (await fileText(client, done.output_file_id!)).trim().split('\n').map((l) => JSON.parse(l));
      for (const line of lines) expect(line.response.body.model).toBe('served-model');
    } finally {
      await server.close();
      await upstream.close();
    }
  });

  it('turns an unreachable upstream into 502 lines in the error file', async () => {
    const { upstreamResponder } = await import('../../src/server/responders.js');
    const { server, client } = await startTestServer({ responder: upstreamResponder({ url: 'http://127.0.0.1:9/v1' }) });
    try {
      const file = await client.files.create({ file: await toFile(Buffer.from(requestLine('x')), 'x.jsonl'), purpose: 'batch' });
      const done = await waitForBatch(client, (await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
      expect(done.request_counts).toEqual({ total: 1, completed: 0, failed: 1 });
      const line = JSON.parse((await fileText(client, done.error_file_id!)).trim());
      expect(line.response.status_code).toBe(502);
      expect(line.response.body.error.message).toMatch(/unreachable/);
    } finally {
      await server.close();
    }
  });
});
