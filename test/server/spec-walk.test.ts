import { describe, expect, it } from 'vitest';
import OpenAI, { AzureOpenAI, toFile } from 'openai';
import { schemaErrors } from '../helpers/openapi.js';
import { requestLine, startTestServer, waitForBatch } from '../helpers/server.js';

// Walks every route of the local server on each route family with the official client, and
// validates every object and error it answers, as sent (the raw JSON, not the client's parse),
// against the official OpenAPI spec.

type Family = { name: string; client: (url: string) => OpenAI; url: string; model: string };
const families: Family[] = [
  { name: 'OpenAI /v1', client: (url) => new OpenAI({ baseURL: `${url}/v1`, apiKey: 'k', maxRetries: 0 }), url: '/v1/chat/completions', model: 'gpt-4o' },
  {
    name: 'Azure api-version 2024-10-21',
    client: (url) => new AzureOpenAI({ endpoint: url, apiKey: 'k', apiVersion: '2024-10-21', maxRetries: 0 }) as unknown as OpenAI,
    url: '/chat/completions',
    model: 'gpt-4o-batch',
  },
  { name: 'Azure /openai/v1', client: (url) => new OpenAI({ baseURL: `${url}/openai/v1/`, apiKey: 'k', maxRetries: 0 }), url: '/chat/completions', model: 'gpt-4o-batch' },
];

/** The JSON the server sent for a call, checked against `schema`. */
async function sent(call: { asResponse(): Promise<Response> }, schema: string): Promise<Record<string, unknown>> {
  const res = await call.asResponse();
  expect(res.headers.get('x-request-id')).toMatch(/^req_/);
  const body = (await res.json()) as Record<string, unknown>;
  expect(schemaErrors('current', schema, body), `${schema}: ${JSON.stringify(body).slice(0, 300)}`).toEqual([]);
  return body;
}

/** The error the server sent for a call that fails, checked against `ErrorResponse`. */
async function refused(call: Promise<unknown>, status: number): Promise<void> {
  const err = (await call.then(
    () => null,
    (e: unknown) => e,
  )) as { status: number; error: unknown } | null;
  expect(err?.status).toBe(status);
  expect(schemaErrors('current', 'ErrorResponse', { error: err!.error })).toEqual([]);
}

describe('every route, every object and error, against the spec', () => {
  for (const family of families) {
    it(family.name, async () => {
      const { server } = await startTestServer({ fileProcessingMs: { azure: 100 } });
      try {
        const client = family.client(server.url);
        const lines = ['a', 'b', 'c'].map((id) => requestLine(id, { url: family.url, model: family.model }));
        const bad = JSON.stringify({ custom_id: 'bad', method: 'POST', url: family.url, body: { model: family.model, messages: 'not a list' } });
        const uploaded = await client.files.create({ file: await toFile(Buffer.from(`${[...lines, bad].join('\n')}\n`), 'in.jsonl'), purpose: 'batch' });
        await client.files.waitForProcessing(uploaded.id, { pollInterval: 20 });
        const file = await sent(client.files.retrieve(uploaded.id), 'OpenAIFile');
        expect(file.status).toBe('processed');
        await sent(client.files.list({ purpose: 'batch' }), 'ListFilesResponse');
        expect(await (await client.files.content(uploaded.id)).text()).toContain('"custom_id":"bad"');

        const created = await sent(client.batches.create({ input_file_id: uploaded.id, endpoint: family.url as '/v1/chat/completions', completion_window: '24h', metadata: { k: 'v' } }), 'Batch');
        const done = await waitForBatch(client, created.id as string);
        await sent(client.batches.retrieve(done.id), 'Batch');
        await sent(client.batches.list({ limit: 5 }), 'ListBatchesResponse');
        expect(done.request_counts).toEqual({ total: 4, completed: 3, failed: 1 });
        for (const id of [done.output_file_id!, done.error_file_id!]) {
          await sent(client.files.retrieve(id), 'OpenAIFile');
          for (const line of (await (await client.files.content(id)).text()).trim().split('\n')) {
            const parsed = JSON.parse(line);
            expect(schemaErrors('lines', 'BatchRequestOutput', parsed)).toEqual([]);
            const body = parsed.response.body;
            expect(schemaErrors('current', parsed.response.status_code === 200 ? 'CreateChatCompletionResponse' : 'ErrorResponse', body)).toEqual([]);
          }
        }
        // Cancel: a second batch, cancelled at once.
        const again = await client.batches.create({ input_file_id: uploaded.id, endpoint: family.url as '/v1/chat/completions', completion_window: '24h' });
        const cancelled = await sent(client.batches.cancel(again.id), 'Batch');
        expect(cancelled.status).toBe('cancelling');
        await waitForBatch(client, again.id);

        const chatParams = { model: family.model, messages: [{ role: 'user' as const, content: 'A human expert labelled this meme as: hateful\nText extracted: hi' }] };
        if (family.name.startsWith('Azure api')) {
          const deployed = new AzureOpenAI({ endpoint: server.url, apiKey: 'k', apiVersion: '2024-10-21', deployment: family.model, maxRetries: 0 });
          await sent(deployed.chat.completions.create(chatParams), 'CreateChatCompletionResponse');
          await refused(deployed.chat.completions.create({ ...chatParams, messages: 'x' as never }), 400);
        } else {
          await sent(client.chat.completions.create(chatParams), 'CreateChatCompletionResponse');
          await refused(client.chat.completions.create({ ...chatParams, messages: 'x' as never }), 400);
        }

        // Errors: missing objects, a bad create, an unknown route.
        await refused(client.files.retrieve('file-000000000000000000000000'), 404);
        await refused(client.batches.retrieve('batch_000000000000000000000000'), 404);
        await refused(client.batches.create({ input_file_id: uploaded.id, endpoint: family.url as '/v1/chat/completions', completion_window: '48h' as '24h' }), 400);
        await refused(client.get('/nothing-here'), 404);

        await sent(client.files.delete(done.output_file_id!), 'DeleteFileResponse');
        await refused(client.files.retrieve(done.output_file_id!), 404);
      } finally {
        await server.close();
      }
    });
  }
});
