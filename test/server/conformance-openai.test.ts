import { createReadStream } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NotFoundError } from 'openai';
import { rawHttp } from '../helpers/raw-http.js';
import { schemaErrors } from '../helpers/openapi.js';
import { fileText, jsonlFile, requestLine, startTestServer, waitForBatch } from '../helpers/server.js';
import { chatBodyProblem } from '../../src/server/chat-body.js';
import type { Responder } from '../../src/server/responders.js';
import { offlineResponder } from '../../src/server/responders.js';

// The OpenAI rules of the local server (`/v1`), walked with the official Node client; every
// object and error it answers is validated against the official OpenAPI spec.

const parseLines = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
const DAY = 24 * 3600 * 1000;

/** A clock the test moves by hand. */
function manualClock(start = Date.now()) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

async function expectApiError(p: Promise<unknown>, status: number, message: RegExp): Promise<Record<string, unknown>> {
  const err = (await p.then(
    () => null,
    (e: unknown) => e,
  )) as { status?: number; error?: unknown; message?: string } | null;
  expect(err, 'the call should have failed').not.toBeNull();
  expect(err!.status).toBe(status);
  expect(err!.message).toMatch(message);
  expect(schemaErrors('current', 'ErrorResponse', { error: err!.error })).toEqual([]);
  return err!.error as Record<string, unknown>;
}

describe('local server, OpenAI rules (/v1), through the official client', () => {
  it('files: processed at once, batch input files expire in 30 days, expires_after checked (1 h–30 d) and echoed', async () => {
    const { server, client } = await startTestServer();
    try {
      const input = await jsonlFile([requestLine('a')]);
      const file = await client.files.create({ file: createReadStream(input), purpose: 'batch' });
      expect(schemaErrors('current', 'OpenAIFile', file)).toEqual([]);
      expect(file.status).toBe('processed');
      expect(file.expires_at).toBe(file.created_at + 30 * 24 * 3600);
      const short = await client.files.create({ file: createReadStream(input), purpose: 'batch', expires_after: { anchor: 'created_at', seconds: 3600 } });
      expect(short.expires_at).toBe(short.created_at + 3600);
      await expectApiError(client.files.create({ file: createReadStream(input), purpose: 'batch', expires_after: { anchor: 'created_at', seconds: 60 } }), 400, /expires_after\.seconds.*3600 to 2592000/);
      await expectApiError(client.files.create({ file: createReadStream(input), purpose: 'batch', expires_after: { anchor: 'now' as 'created_at', seconds: 3600 } }), 400, /expires_after\.anchor/);
    } finally {
      await server.close();
    }
  });

  it('batches: the spec enum for endpoint, /v1 urls on lines, output_expires_after checked; nulls, usage and x-request-id on the object', async () => {
    const { server, client } = await startTestServer();
    try {
      const file = await client.files.create({ file: createReadStream(await jsonlFile([requestLine('a'), requestLine('b')])), purpose: 'batch' });
      const base = { input_file_id: file.id, completion_window: '24h' as const };
      await expectApiError(client.batches.create({ ...base, endpoint: '/chat/completions' as '/v1/chat/completions' }), 400, /Supported values are: .*'\/v1\/chat\/completions'/);
      await expectApiError(client.batches.create({ ...base, endpoint: '/v1/chat/completions', output_expires_after: { anchor: 'created_at', seconds: 10 } }), 400, /output_expires_after\.seconds/);
      const { data: created, response } = await client.batches
        .create({ ...base, endpoint: '/v1/chat/completions', output_expires_after: { anchor: 'created_at', seconds: 7200 } })
        .withResponse();
      expect(response.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]+$/);
      expect(schemaErrors('current', 'Batch', created)).toEqual([]);
      // Nullable fields are there, as null (the spec's own example), not left out.
      for (const k of ['errors', 'output_file_id', 'error_file_id', 'in_progress_at', 'completed_at', 'failed_at', 'cancelled_at']) expect(created).toHaveProperty(k, null);
      expect(created.expires_at).toBe(created.created_at + 24 * 3600);
      const done = await waitForBatch(client, created.id);
      expect(schemaErrors('current', 'Batch', done)).toEqual([]);
      expect(done.status).toBe('completed');
      expect(done.usage!.input_tokens).toBeGreaterThan(0);
      expect(done.usage!.total_tokens).toBe(done.usage!.input_tokens + done.usage!.output_tokens);
      const output = await client.files.retrieve(done.output_file_id!);
      expect(output.expires_at).toBe(output.created_at + 7200);
      // A line whose url is not the batch's endpoint exactly fails the batch (OpenAI is exact; Azure takes both).
      const mixed = await client.files.create({ file: createReadStream(await jsonlFile([requestLine('a', { url: '/chat/completions' })])), purpose: 'batch' });
      const failed = await waitForBatch(client, (await client.batches.create({ ...base, input_file_id: mixed.id, endpoint: '/v1/chat/completions' })).id);
      expect(failed.status).toBe('failed');
      expect(failed.errors!.data![0]).toMatchObject({ code: 'url_mismatch', line: 1 });
    } finally {
      await server.close();
    }
  });

  it('validates each line against the chat schema: a bad body is a 400 line in the error file with the API message, the others are answered', async () => {
    const { server, client } = await startTestServer();
    try {
      const good = JSON.parse(requestLine('good'));
      const lines = [
        JSON.stringify(good),
        JSON.stringify({ ...good, custom_id: 'string-messages', body: { ...good.body, messages: 'hello' } }),
        JSON.stringify({ ...good, custom_id: 'streamed', body: { ...good.body, stream: true } }),
        JSON.stringify({ ...good, custom_id: 'hot', body: { ...good.body, temperature: 5 } }),
        JSON.stringify({ ...good, custom_id: 'long', body: { ...good.body, max_tokens: 20_000 } }),
      ];
      const file = await client.files.create({ file: createReadStream(await jsonlFile(lines)), purpose: 'batch' });
      const done = await waitForBatch(client, (await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
      expect(done).toMatchObject({ status: 'completed', request_counts: { total: 5, completed: 1, failed: 4 } });
      const errors = new Map(parseLines(await fileText(client, done.error_file_id!)).map((l) => [l.custom_id, l]));
      for (const line of errors.values()) {
        expect(schemaErrors('lines', 'BatchRequestOutput', line)).toEqual([]);
        expect(line.response.status_code).toBe(400);
        expect(schemaErrors('current', 'ErrorResponse', line.response.body)).toEqual([]);
      }
      expect(errors.get('string-messages').response.body.error).toMatchObject({
        message: "Invalid type for 'messages': expected an array of objects, but got a string instead.",
        param: 'messages',
        code: 'invalid_type',
      });
      expect(errors.get('streamed').response.body.error.param).toBe('stream');
      expect(errors.get('hot').response.body.error.code).toBe('decimal_above_max_value');
      expect(errors.get('long').response.body.error.message).toBe('max_tokens is too large: 20000. This model supports at most 16384 completion tokens, whereas you provided 20000.');
    } finally {
      await server.close();
    }
  });

  it('agrees with the spec on which chat bodies are valid', () => {
    const good = JSON.parse(requestLine('x')).body;
    const cases: Array<Record<string, unknown>> = [
      good,
      { ...good, response_format: { type: 'json_object' } },
      { ...good, messages: [{ role: 'system', content: 'be brief' }, ...good.messages] },
      { ...good, messages: 'hello' },
      { ...good, messages: [{ role: 'robot', content: 'hi' }] },
      { ...good, messages: [{ role: 'user', content: { text: 'hi' } }] },
      { ...good, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] },
      { ...good, temperature: 5 },
      { ...good, model: 7 },
      { messages: good.messages },
    ];
    for (const body of cases) {
      const ours = chatBodyProblem(body, { batch: false });
      const spec = schemaErrors('current', 'CreateChatCompletionRequest', body);
      expect({ body, refused: ours !== null }).toEqual({ body, refused: spec.length > 0 });
    }
  });

  it('knows its models: an unknown one fails the batch with model_not_found, and GET /v1/models/{id} answers 404', async () => {
    const { server, client } = await startTestServer({ models: ['gpt-4o-mini'] });
    try {
      expect((await client.models.retrieve('gpt-4o-mini-2024-07-18')).id).toBe('gpt-4o-mini-2024-07-18');
      const err = await client.models.retrieve('gpt-nope').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      const file = await client.files.create({ file: createReadStream(await jsonlFile([requestLine('a', { model: 'gpt-nope' })])), purpose: 'batch' });
      const done = await waitForBatch(client, (await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
      expect(done.status).toBe('failed');
      expect(done.errors!.data![0]).toMatchObject({ code: 'model_not_found', message: 'The model `gpt-nope` does not exist or you do not have access to it.' });
    } finally {
      await server.close();
    }
  });

  it('refuses a batch on a file still being processed, when told to process files slowly', async () => {
    const { server, client } = await startTestServer({ fileProcessingMs: { openai: 60_000 } });
    try {
      const file = await client.files.create({ file: createReadStream(await jsonlFile([requestLine('a')])), purpose: 'batch' });
      expect(file.status).toBe('uploaded');
      const error = await expectApiError(client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }), 400, /is in 'uploaded' state/);
      expect(error.param).toBe('input_file_id');
      expect(err400(error)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('cancel answers cancelling, then the batch ends cancelled, never back to in_progress and never through finalizing', async () => {
    const { server, client } = await startTestServer({ concurrency: 1, faults: { lineDelayMs: 20 } });
    try {
      const input = await jsonlFile(Array.from({ length: 20 }, (_, i) => requestLine(`c${i}`)));
      for (let attempt = 0; attempt < 5; attempt++) {
        const file = await client.files.create({ file: createReadStream(input), purpose: 'batch' });
        const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
        if (attempt % 2 === 1) await waitForBatch(client, batch.id, (b) => b.status === 'in_progress');
        const answer = await client.batches.cancel(batch.id);
        expect(answer.status).toBe('cancelling');
        expect(schemaErrors('current', 'Batch', answer)).toEqual([]);
        const seen: string[] = [];
        const done = await waitForBatch(client, batch.id, (b) => {
          seen.push(b.status);
          return b.status === 'cancelled';
        });
        expect(new Set(seen)).toEqual(new Set(seen.filter((s) => s === 'cancelling' || s === 'cancelled')));
        expect(done.finalizing_at).toBeNull();
        expect(done.cancelled_at).toBeTypeOf('number');
      }
    } finally {
      await server.close();
    }
  });

  it('expires a batch at the end of its 24 h window (on the server clock): finished lines kept, the rest batch_expired', async () => {
    const clock = manualClock();
    const offline = offlineResponder();
    let calls = 0;
    // The third answer takes "25 hours": the lines after it are past the window.
    const responder: Responder = { ...offline, respond: async (body) => (++calls === 3 && clock.advance(25 * 3600 * 1000), offline.respond(body)) };
    const { server, client } = await startTestServer({ clock, responder, concurrency: 1 });
    try {
      const file = await client.files.create({ file: createReadStream(await jsonlFile(Array.from({ length: 8 }, (_, i) => requestLine(`e${i}`)))), purpose: 'batch' });
      const done = await waitForBatch(client, (await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
      expect(schemaErrors('current', 'Batch', done)).toEqual([]);
      expect(done).toMatchObject({ status: 'expired', request_counts: { total: 8, completed: 3, failed: 5 } });
      expect(parseLines(await fileText(client, done.output_file_id!))).toHaveLength(3);
      const expired = parseLines(await fileText(client, done.error_file_id!));
      expect(expired.map((l) => l.error.code)).toEqual(Array(5).fill('batch_expired'));
    } finally {
      await server.close();
    }
  });

  it('deletes files past their expires_at (input and output), on the server clock', async () => {
    const clock = manualClock();
    const { server, client } = await startTestServer({ clock });
    try {
      const file = await client.files.create({ file: createReadStream(await jsonlFile([requestLine('a')])), purpose: 'batch', expires_after: { anchor: 'created_at', seconds: 3600 } });
      const done = await waitForBatch(client, (await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
      clock.advance(2 * 3600 * 1000);
      expect(await server.store.sweepExpired()).toEqual([file.id]);
      await expect(client.files.retrieve(file.id)).rejects.toBeInstanceOf(NotFoundError);
      expect((await client.files.retrieve(done.output_file_id!)).id).toBe(done.output_file_id);
      clock.advance(31 * DAY);
      expect(await server.store.sweepExpired()).toContain(done.output_file_id);
      await expect(client.files.content(done.output_file_id!)).rejects.toBeInstanceOf(NotFoundError);
    } finally {
      await server.close();
    }
  });

  it('caps an upload at 200 MB (209,715,200 B) by default', async () => {
    const { server } = await startTestServer();
    try {
      const declared = 209_715_200 + 70_000;
      const r = await rawHttp(server.port, `POST /v1/files HTTP/1.1\r\nhost: x\r\ncontent-type: multipart/form-data; boundary=x\r\ncontent-length: ${declared}\r\n\r\n--x`);
      // Answered from the declared length, before the body is read.
      expect(r.status).toBe(413);
      expect(JSON.parse(r.body).error.message).toMatch(/limit is 209715200 bytes/);
    } finally {
      await server.close();
    }
  });
});

function err400(error: Record<string, unknown>): boolean {
  return typeof error.message === 'string' && error.type === 'invalid_request_error';
}
