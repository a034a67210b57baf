import { describe, expect, it } from 'vitest';
import OpenAI, { AzureOpenAI, BadRequestError, toFile } from 'openai';
import { request } from 'undici';
import { schemaErrors } from '../helpers/openapi.js';
import { fileText, requestLine, startTestServer, waitForBatch } from '../helpers/server.js';
import { offlineResponder, type Responder } from '../../src/server/responders.js';

// The Azure rules of the local server (dated `api-version` routes and `/openai/v1/`), walked with
// the official Node client (`AzureOpenAI` and `OpenAI` on the v1 base URL).

const line = (id: string, model = 'gpt-4o-batch') => requestLine(id, { url: '/chat/completions', model });
const upload = async (client: OpenAI, lines: string[], extra: Record<string, unknown> = {}) =>
  client.files.create({ file: await toFile(Buffer.from(`${lines.join('\n')}\n`), 'in.jsonl'), purpose: 'batch', ...extra });

async function refusal(p: Promise<unknown>): Promise<{ status: number; error: Record<string, unknown>; message: string }> {
  const err = (await p.then(
    () => null,
    (e: unknown) => e,
  )) as { status: number; error: Record<string, unknown>; message: string } | null;
  if (!err) throw new Error('the call should have failed');
  return err;
}

describe('local server, Azure rules, through the official client', () => {
  for (const flavor of ['dated', 'v1'] as const) {
    it(`${flavor}: files stay pending, a batch on a pending file is Azure's 400; once processed the batch runs, with an error file always`, async () => {
      const { server } = await startTestServer({ fileProcessingMs: { azure: 300 } });
      try {
        const client =
          flavor === 'dated'
            ? (new AzureOpenAI({ endpoint: server.url, apiKey: 'k', apiVersion: '2024-10-21', maxRetries: 0 }) as unknown as OpenAI)
            : new OpenAI({ baseURL: `${server.url}/openai/v1/`, apiKey: 'k', maxRetries: 0 });
        const file = await upload(client, [line('a'), line('b')]);
        expect(file.status).toBe('pending');
        expect(file.expires_at).toBe(file.created_at + 30 * 24 * 3600);
        const early = await refusal(client.batches.create({ input_file_id: file.id, endpoint: '/chat/completions' as never, completion_window: '24h' }));
        expect(early).toBeInstanceOf(BadRequestError);
        expect(early.message).toContain(`The input file '${file.id}' is in 'pending' state. Only files with status 'Processed' are accepted for batch inferencing.`);
        expect(schemaErrors('current', 'ErrorResponse', { error: early.error })).toEqual([]);
        expect(early.error.code).toBe('invalidPayload');
        expect((await client.files.waitForProcessing(file.id, { pollInterval: 50 })).status).toBe('processed');
        const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/chat/completions' as never, completion_window: '24h' });
        expect(schemaErrors('current', 'Batch', batch)).toEqual([]);
        const done = await waitForBatch(client, batch.id);
        expect(done).toMatchObject({ status: 'completed', request_counts: { total: 2, completed: 2, failed: 0 } });
        expect(await fileText(client, done.error_file_id!)).toBe('');
      } finally {
        await server.close();
      }
    });
  }

  it("checks expires_after against Azure's 14–30 days, and echoes it", async () => {
    const { server } = await startTestServer({ fileProcessingMs: { azure: 0 } });
    try {
      const client = new AzureOpenAI({ endpoint: server.url, apiKey: 'k', apiVersion: '2025-04-01-preview', maxRetries: 0 }) as unknown as OpenAI;
      const hour = await refusal(upload(client, [line('a')], { expires_after: { anchor: 'created_at', seconds: 3600 } }));
      expect(hour.status).toBe(400);
      expect(hour.message).toMatch(/1209600 to 2592000/);
      const file = await upload(client, [line('a')], { expires_after: { anchor: 'created_at', seconds: 1_209_600 } });
      expect(file.expires_at).toBe(file.created_at + 1_209_600);
      const output = await refusal(
        client.batches.create({ input_file_id: file.id, endpoint: '/chat/completions' as never, completion_window: '24h', output_expires_after: { anchor: 'created_at', seconds: 7200 } }),
      );
      expect(output.message).toMatch(/output_expires_after\.seconds/);
    } finally {
      await server.close();
    }
  });

  it('refuses api-versions without the Batch API, and unknown routes, with Azure error bodies', async () => {
    const { server } = await startTestServer();
    try {
      const banana = await request(`${server.url}/openai/batches?api-version=banana`);
      expect(banana.statusCode).toBe(400);
      const body = (await banana.body.json()) as { error: { code: string; message: string } };
      expect(body.error).toMatchObject({ code: 'BadRequest', message: 'API version not supported' });
      expect(schemaErrors('current', 'ErrorResponse', body)).toEqual([]);
      const old = new AzureOpenAI({ endpoint: server.url, apiKey: 'k', apiVersion: '2024-02-01', maxRetries: 0 });
      expect((await refusal(old.batches.list())).status).toBe(400);
      const missing = await request(`${server.url}/openai/batches/batch_000000000000000000000000?api-version=2024-10-21`);
      expect(missing.statusCode).toBe(404);
      const notFound = (await missing.body.json()) as { error: { code: string } };
      expect(notFound.error.code).toBe('notFound');
      expect(schemaErrors('current', 'ErrorResponse', notFound)).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('refuses an unknown deployment at create, with the batch error list Azure answers', async () => {
    const { server } = await startTestServer({ deployments: ['gpt-4o-batch'], fileProcessingMs: { azure: 0 } });
    try {
      const client = new AzureOpenAI({ endpoint: server.url, apiKey: 'k', apiVersion: '2024-10-21', maxRetries: 0 }) as unknown as OpenAI;
      const file = await upload(client, [line('a', 'gpt-4o-typo')]);
      const err = await refusal(client.batches.create({ input_file_id: file.id, endpoint: '/chat/completions' as never, completion_window: '24h' }));
      // The body has no `error` member, so the Node client keeps none of it (its message: "400 status code (no body)").
      expect(err).toBeInstanceOf(BadRequestError);
      expect(err.error).toBeUndefined();
      const raw = await request(`${server.url}/openai/batches?api-version=2024-10-21`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ input_file_id: file.id, endpoint: '/chat/completions', completion_window: '24h' }),
      });
      expect(raw.statusCode).toBe(400);
      const data = ((await raw.body.json()) as { errors: { data: Array<Record<string, unknown>> } }).errors.data;
      expect(data[0]).toMatchObject({ code: 'model_not_found', line: null, param: null });
      expect(data[0]!.message).toMatch(/^The provided model deployment 'gpt-4o-typo' does not exist in the AOAI resource. Valid deployments are 'gpt-4o-batch'/);
      for (const e of data) expect(schemaErrors('current', 'BatchError', e)).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('does not expire a job that runs past 24 h', async () => {
    let t = Date.now();
    const clock = { now: () => t };
    const offline = offlineResponder();
    let calls = 0;
    const responder: Responder = { ...offline, respond: async (body) => (++calls === 2 && (t += 30 * 3600 * 1000), offline.respond(body)) };
    const { server } = await startTestServer({ clock, responder, concurrency: 1, fileProcessingMs: { azure: 0 } });
    try {
      const client = new OpenAI({ baseURL: `${server.url}/openai/v1/`, apiKey: 'k', maxRetries: 0 });
      const file = await upload(client, [0, 1, 2, 3, 4].map((i) => line(`z${i}`)));
      const done = await waitForBatch(client, (await client.batches.create({ input_file_id: file.id, endpoint: '/chat/completions' as never, completion_window: '24h' })).id);
      expect(done).toMatchObject({ status: 'completed', request_counts: { total: 5, completed: 5, failed: 0 } });
      expect(done.completed_at! - done.created_at).toBeGreaterThan(24 * 3600);
    } finally {
      await server.close();
    }
  });
});
