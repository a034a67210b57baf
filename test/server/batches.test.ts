import { createReadStream } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BadRequestError, NotFoundError, toFile } from 'openai';
import { schemaErrors } from '../helpers/openapi.js';
import { fileText, jsonlFile, requestLine, startTestServer, waitForBatch } from '../helpers/server.js';
import type OpenAI from 'openai';

async function submit(client: OpenAI, lines: string[], metadata?: Record<string, string>) {
  const file = await client.files.create({ file: createReadStream(await jsonlFile(lines)), purpose: 'batch' });
  return client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', ...(metadata ? { metadata } : {}) });
}

const parseLines = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));

describe('local server: the batch lifecycle, through the official client', () => {
  it('runs validating → in_progress → completed, with counts, an output file of spec-valid lines, in shuffled order', async () => {
    const { server, client } = await startTestServer({ faults: { lineDelayMs: 2 } });
    try {
      const ids = Array.from({ length: 60 }, (_, i) => `m-${i}`);
      const created = await submit(client, ids.map((id) => requestLine(id)), { run: 'r1', shard_sha256: 'abc' });
      expect(created.status).toBe('validating');
      expect(schemaErrors('current', 'Batch', created)).toEqual([]);
      const seen = new Set<string>([created.status]);
      const done = await waitForBatch(client, created.id, (b) => {
        seen.add(b.status);
        return b.status === 'completed';
      });
      expect(seen.has('in_progress')).toBe(true);
      expect(schemaErrors('current', 'Batch', done)).toEqual([]);
      expect(done).toMatchObject({ request_counts: { total: 60, completed: 60, failed: 0 }, model: 'gpt-4o', metadata: { run: 'r1', shard_sha256: 'abc' } });
      expect(done.error_file_id ?? null).toBeNull();
      expect(done.completed_at).toBeGreaterThanOrEqual(done.created_at);
      const output = await client.files.retrieve(done.output_file_id!);
      expect(output.purpose).toBe('batch_output');
      const lines = parseLines(await fileText(client, done.output_file_id!));
      expect(lines.map((l) => l.custom_id).sort()).toEqual([...ids].sort());
      expect(lines.map((l) => l.custom_id)).not.toEqual(ids);
      for (const line of lines) {
        expect(schemaErrors('lines', 'BatchRequestOutput', line)).toEqual([]);
        expect(schemaErrors('current', 'CreateChatCompletionResponse', line.response.body)).toEqual([]);
        expect(JSON.parse(line.response.body.choices[0].message.content).explanation).toMatch(/offline responder: not a model answer/);
      }
    } finally {
      await server.close();
    }
  });

  it('lists batches newest first with after / limit / has_more, and the client pages through them all', async () => {
    const { server, client } = await startTestServer();
    try {
      const created = [];
      for (let i = 0; i < 5; i++) created.push((await submit(client, [requestLine(`x${i}`)])).id);
      const first = await client.batches.list({ limit: 2 });
      expect(first.data.map((b) => b.id)).toEqual([created[4], created[3]]);
      expect(first.has_more).toBe(true);
      expect(schemaErrors('current', 'ListBatchesResponse', { object: 'list', data: first.data, first_id: first.data[0]!.id, last_id: first.data[1]!.id, has_more: true })).toEqual([]);
      const next = await client.batches.list({ limit: 2, after: created[3] });
      expect(next.data.map((b) => b.id)).toEqual([created[2], created[1]]);
      const all: string[] = [];
      for await (const b of client.batches.list({ limit: 2 })) all.push(b.id);
      expect(all).toEqual([...created].reverse());
      await expect(client.batches.list({ limit: 101 })).rejects.toBeInstanceOf(BadRequestError);
    } finally {
      await server.close();
    }
  });

  it('cancels: cancelling → cancelled, with the lines done so far in the output', async () => {
    const { server, client } = await startTestServer({ faults: { lineDelayMs: 20 }, concurrency: 2 });
    try {
      // 1,000 lines of 20 ms, two at a time: ~10 s of work, so the cancel lands mid-batch even on a busy machine.
      const batch = await submit(client, Array.from({ length: 1000 }, (_, i) => requestLine(`c${i}`)));
      await waitForBatch(client, batch.id, (b) => b.request_counts!.completed >= 4);
      const cancelling = await client.batches.cancel(batch.id);
      expect(cancelling.status).toBe('cancelling');
      const done = await waitForBatch(client, batch.id);
      expect(done.status).toBe('cancelled');
      expect(done.cancelled_at).toBeTypeOf('number');
      const completed = done.request_counts!.completed;
      expect(completed).toBeGreaterThanOrEqual(4);
      expect(completed).toBeLessThan(1000);
      expect(parseLines(await fileText(client, done.output_file_id!))).toHaveLength(completed);
      await expect(client.batches.cancel(batch.id)).rejects.toBeInstanceOf(BadRequestError);
    } finally {
      await server.close();
    }
  });

  it('expires after N lines: finished lines in the output, the rest as batch_expired in the error file', async () => {
    const { server, client } = await startTestServer({ faults: { expireAfterLines: 5 }, concurrency: 1 });
    try {
      const batch = await submit(client, Array.from({ length: 12 }, (_, i) => requestLine(`e${i}`)));
      const done = await waitForBatch(client, batch.id);
      expect(done.status).toBe('expired');
      expect(done.request_counts).toEqual({ total: 12, completed: 5, failed: 7 });
      const output = parseLines(await fileText(client, done.output_file_id!));
      const errors = parseLines(await fileText(client, done.error_file_id!));
      expect(output).toHaveLength(5);
      expect(errors).toHaveLength(7);
      for (const e of errors) {
        expect(e).toMatchObject({ response: null, error: { code: 'batch_expired' } });
        expect(schemaErrors('lines', 'BatchRequestOutput', e)).toEqual([]);
      }
      expect(new Set([...output, ...errors].map((l) => l.custom_id)).size).toBe(12);
    } finally {
      await server.close();
    }
  });

  it('fails validation with the API codes and line numbers', async () => {
    const { server, client } = await startTestServer({ maxRequests: { openai: 3, azure: 3 } });
    try {
      const cases: Array<[string[], string, number | null]> = [
        [[requestLine('a'), '{not json', requestLine('b')], 'invalid_json_line', 2],
        [[requestLine('a'), requestLine('b'), requestLine('a')], 'duplicate_custom_id', 3],
        [[requestLine('a'), requestLine('b', { model: 'gpt-4.1' })], 'model_mismatch', 2],
        [[requestLine('a', { url: '/v1/embeddings' })], 'url_mismatch', 1],
        [[], 'empty_file', null],
        [[requestLine('a'), requestLine('b'), requestLine('c'), requestLine('d')], 'too_many_tasks', null],
      ];
      for (const [lines, code, line] of cases) {
        const done = await waitForBatch(client, (await submit(client, lines)).id);
        expect(done.status, code).toBe('failed');
        expect(schemaErrors('current', 'Batch', done)).toEqual([]);
        expect(done.errors?.data?.[0], code).toMatchObject({ code, line });
        expect(done.failed_at).toBeTypeOf('number');
      }
    } finally {
      await server.close();
    }
  });

  it('fails a batch with token_limit_exceeded while enqueued tokens would pass the limit', async () => {
    // Each 2-line batch is ~44 prompt tokens (two ~15-token texts, 7 tokens of chat overhead
    // each). The first stays in progress for 2 s (1 line at a time, 1 s a line) while the
    // second is validated: 88 > 60.
    const { server, client } = await startTestServer({ faults: { tokenLimit: 60, lineDelayMs: 1000 }, concurrency: 1 });
    try {
      const first = await submit(client, Array.from({ length: 2 }, (_, i) => requestLine(`t${i}`)));
      await waitForBatch(client, first.id, (b) => b.status === 'in_progress');
      const second = await waitForBatch(client, (await submit(client, [requestLine('u1'), requestLine('u2')])).id);
      expect(second.status).toBe('failed');
      expect(second.errors?.data?.[0]?.code).toBe('token_limit_exceeded');
      expect(second.errors?.data?.[0]?.message).toMatch(/Limit: 60 enqueued tokens/);
      expect((await waitForBatch(client, first.id)).status).toBe('completed');
      // Once the first is done, the same file goes through.
      expect((await waitForBatch(client, (await client.batches.create({ input_file_id: second.input_file_id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id)).status).toBe('completed');
    } finally {
      await server.close();
    }
  });

  it("checks the token limit at create with tokenLimitAt 'create' (Azure's fail-fast regions): a 400 token_limit_exceeded", async () => {
    const { server, client } = await startTestServer({ faults: { tokenLimit: 60, tokenLimitAt: 'create', lineDelayMs: 1000 }, concurrency: 1 });
    try {
      const first = await submit(client, Array.from({ length: 2 }, (_, i) => requestLine(`t${i}`)));
      // Counted from its creation: a second batch is refused while the first is unfinished.
      const refused = await submit(client, [requestLine('u1'), requestLine('u2')]).then(
        () => null,
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(BadRequestError);
      expect((refused as BadRequestError).code).toBe('token_limit_exceeded');
      expect((await waitForBatch(client, first.id)).status).toBe('completed');
      expect((await waitForBatch(client, (await submit(client, [requestLine('u1')])).id)).status).toBe('completed');
    } finally {
      await server.close();
    }
  });

  it('answers injected per-line failures as 500 lines in the error file, counted as failed', async () => {
    const { server, client } = await startTestServer({ faults: { lineFailureRate: 0.3, seed: 7 } });
    try {
      const done = await waitForBatch(client, (await submit(client, Array.from({ length: 40 }, (_, i) => requestLine(`f${i}`)))).id);
      expect(done.status).toBe('completed');
      const { completed, failed } = done.request_counts!;
      expect(failed).toBeGreaterThan(0);
      expect(completed + failed).toBe(40);
      const errors = parseLines(await fileText(client, done.error_file_id!));
      expect(errors).toHaveLength(failed);
      for (const e of errors) expect(e.response.status_code).toBe(500);
    } finally {
      await server.close();
    }
  });

  it('checks create requests at once: unknown file, bad window, bad endpoint, bad metadata', async () => {
    const { server, client } = await startTestServer();
    try {
      const file = await client.files.create({ file: await toFile(Buffer.from(`${requestLine('a')}\n`), 'a.jsonl'), purpose: 'batch' });
      await expect(client.batches.create({ input_file_id: 'file-000000000000000000000000', endpoint: '/v1/chat/completions', completion_window: '24h' })).rejects.toBeInstanceOf(NotFoundError);
      await expect(client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '48h' as '24h' })).rejects.toBeInstanceOf(BadRequestError);
      await expect(client.batches.create({ input_file_id: file.id, endpoint: '/v1/nope' as never, completion_window: '24h' })).rejects.toBeInstanceOf(BadRequestError);
      await expect(client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { k: 'x'.repeat(600) } })).rejects.toBeInstanceOf(BadRequestError);
      await expect(client.batches.retrieve('batch_nope')).rejects.toBeInstanceOf(NotFoundError);
    } finally {
      await server.close();
    }
  });
});
