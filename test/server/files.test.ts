import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toFile, NotFoundError, BadRequestError } from 'openai';
import { schemaErrors } from '../helpers/openapi.js';
import { jsonlFile, requestLine, startTestServer } from '../helpers/server.js';
import type { BatchServer } from '../../src/server/server.js';
import type OpenAI from 'openai';

let server: BatchServer;
let client: OpenAI;
beforeAll(async () => ({ server, client } = await startTestServer()));
afterAll(() => server.close());

describe('local server: files, through the official client', () => {
  it('uploads a file streamed from disk, and serves it back byte for byte', async () => {
    const input = await jsonlFile(Array.from({ length: 50 }, (_, i) => requestLine(`r${i}`, { text: 'نص عربي 😀' })));
    const file = await client.files.create({ file: createReadStream(input), purpose: 'batch' });
    expect(schemaErrors('current', 'OpenAIFile', file)).toEqual([]);
    expect(file).toMatchObject({ object: 'file', purpose: 'batch', filename: 'input.jsonl', bytes: (await stat(input)).size, status: 'processed' });
    const content = Buffer.from(await (await client.files.content(file.id)).arrayBuffer());
    expect(content.equals(await readFile(input))).toBe(true);
    expect(schemaErrors('current', 'OpenAIFile', await client.files.retrieve(file.id))).toEqual([]);
  });

  it('takes expires_after, lists, and deletes', async () => {
    const file = await client.files.create({ file: await toFile(Buffer.from(`${requestLine('a')}\n`), 'small.jsonl'), purpose: 'batch', expires_after: { anchor: 'created_at', seconds: 86_400 } });
    expect(file.expires_at).toBe(file.created_at + 86_400);
    const page = await client.files.list({ purpose: 'batch' });
    expect(schemaErrors('current', 'ListFilesResponse', { object: 'list', data: page.data, first_id: page.data[0]?.id, last_id: page.data.at(-1)?.id, has_more: false })).toEqual([]);
    expect(page.data.map((f) => f.id)).toContain(file.id);
    const deleted = await client.files.delete(file.id);
    expect(schemaErrors('current', 'DeleteFileResponse', deleted)).toEqual([]);
    expect(deleted).toEqual({ id: file.id, object: 'file', deleted: true });
    await expect(client.files.retrieve(file.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.files.content(file.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses an upload without a purpose, or with a bad expiry, as 400s', async () => {
    await expect(client.files.create({ file: await toFile(Buffer.from('x\n'), 'x.jsonl'), purpose: 'nonsense' as never })).rejects.toBeInstanceOf(BadRequestError);
    await expect(
      client.files.create({ file: await toFile(Buffer.from('x\n'), 'x.jsonl'), purpose: 'batch', expires_after: { anchor: 'created_at', seconds: 60 } }),
    ).rejects.toThrow(/expires_after/);
  });
});
