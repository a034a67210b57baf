import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { toFile } from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { uploadShards } from '../../src/stages/upload-shards.js';
import { Manifest } from '../../src/batch-api/manifest.js';
import type { ShardRecord } from '../../src/types.js';
import { requestLine, startTestServer, tempDir } from '../helpers/server.js';
import { fromArray, toArray } from '../helpers/streams.js';

describe('uploadShards', () => {
  const started = startTestServer();
  afterAll(async () => (await started).server.close());

  it('reuses an upload that finished after its run was killed, before its id was recorded: no second file', async () => {
    const { client } = await started;
    const dir = await tempDir('be-upload-');
    const text = `${requestLine('r1')}\n${requestLine('r2')}\n`;
    const shardPath = path.join(dir, 'batch_00001.jsonl');
    await writeFile(shardPath, text);
    const bytes = Buffer.byteLength(text);
    const sha256 = createHash('sha256').update(text).digest('hex');
    const shard: ShardRecord = { path: shardPath, index: 1, rows: 2, bytes, sha256, first_line: 1, last_line: 2 };
    const filename = `batch_00001.${sha256.slice(0, 16)}.jsonl`;
    // The killed run: its intent on record, its upload on the server, its id nowhere.
    const manifest = await Manifest.open(path.join(dir, 'manifest.jsonl'));
    await manifest.append({ type: 'shard', run_id: 'run-1', shard });
    await manifest.append({ type: 'uploading', sha256, filename });
    const earlier = await client.files.create({ file: await toFile(Buffer.from(text), filename), purpose: 'batch' });
    const before = (await client.files.list({ purpose: 'batch' })).data.length;

    const [submitted] = await toArray(uploadShards({ client, manifest, endpoint: '/v1/chat/completions', runId: 'run-1' })(fromArray([shard])));
    expect(submitted).toMatchObject({ fileId: earlier.id, skipped: false });
    expect((await client.files.list({ purpose: 'batch' })).data.length).toBe(before);
    expect((await client.batches.retrieve(submitted!.batchId)).input_file_id).toBe(earlier.id);
    expect(manifest.state.shards.get(sha256)).toMatchObject({ fileId: earlier.id, batchId: submitted!.batchId });
    await manifest.close();
  });

  it('tells onRead of every piece of the shard it sends: their sizes add up to the file stored', async () => {
    const { client } = await started;
    const dir = await tempDir('be-upload-');
    const text = Array.from({ length: 600 }, (_, i) => requestLine(`r${i}`)).join('\n') + '\n';
    const shardPath = path.join(dir, 'batch_00001.jsonl');
    await writeFile(shardPath, text);
    const bytes = Buffer.byteLength(text);
    const sha256 = createHash('sha256').update(text).digest('hex');
    const shard: ShardRecord = { path: shardPath, index: 1, rows: 600, bytes, sha256, first_line: 1, last_line: 600 };
    const manifest = await Manifest.open(path.join(dir, 'manifest.jsonl'));
    await manifest.append({ type: 'shard', run_id: 'run-1', shard });
    const pieces: number[] = [];
    const [submitted] = await toArray(uploadShards({ client, manifest, endpoint: '/v1/chat/completions', runId: 'run-1', onRead: (n) => void pieces.push(n) })(fromArray([shard])));
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.reduce((a, b) => a + b, 0)).toBe(bytes);
    const stored = await client.files.content(submitted!.fileId);
    expect(Buffer.from(await stored.arrayBuffer()).toString()).toBe(text);
    await manifest.close();
  });

  it('never uploads a shard over the provider limits it is given', async () => {
    const { client, server } = await started;
    const dir = await tempDir('be-upload-');
    const text = `${requestLine('r1')}\n${requestLine('r2')}\n`;
    const shardPath = path.join(dir, 'batch_00001.jsonl');
    await writeFile(shardPath, text);
    const sha256 = createHash('sha256').update(text).digest('hex');
    const shard: ShardRecord = { path: shardPath, index: 1, rows: 2, bytes: Buffer.byteLength(text), sha256, first_line: 1, last_line: 2 };
    const manifest = await Manifest.open(path.join(dir, 'manifest.jsonl'));
    await manifest.append({ type: 'shard', run_id: 'run-1', shard });
    const files = server.store.files.size;
    const stage = uploadShards({ client, manifest, endpoint: '/v1/chat/completions', runId: 'run-1', limits: { bytes: 1_000_000, requests: 1 } });
    await expect(toArray(stage(fromArray([shard])))).rejects.toThrow(/over the provider's limit of 1000000 bytes and 1 requests per input file: not uploaded/);
    expect(server.store.files.size).toBe(files);
    await manifest.close();
  });
});
