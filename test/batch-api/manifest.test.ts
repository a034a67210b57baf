import { appendFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Manifest } from '../../src/batch-api/manifest.js';
import { readTrackingFile } from '../../src/batch-api/tracking-file.js';
import { tempDir } from '../helpers/server.js';

const shard = (i: number) => ({ path: `b/batch_0000${i}.jsonl`, index: i, rows: 3, bytes: 100, sha256: `sha${i}`, first_line: 1, last_line: 3 });

describe('Manifest', () => {
  it('appends events durably and folds them into the job state, also when reopened', async () => {
    const file = path.join(await tempDir(), 'sub/manifest.jsonl');
    const m = await Manifest.open(file);
    await m.append({ type: 'run', run_id: 'r', config: 'c', provider: 'local', endpoint: '/v1/chat/completions', model: 'm', dataset: 'd' });
    await m.append({ type: 'shard', run_id: 'r', shard: shard(1) });
    await m.append({ type: 'uploaded', sha256: 'sha1', file_id: 'file-1', bytes: 100 });
    await m.append({ type: 'batch', sha256: 'sha1', batch_id: 'batch_1', input_file_id: 'file-1' });
    await m.append({ type: 'status', batch_id: 'batch_1', status: 'completed', request_counts: { total: 3, completed: 3, failed: 0 }, output_file_id: 'file-o', error_file_id: null });
    await m.append({ type: 'downloaded', batch_id: 'batch_1', output: { path: 'r/batch_1.output.jsonl', lines: 3, bytes: 10 } });
    await m.close();
    const again = await Manifest.open(file);
    expect(again.state.run?.run_id).toBe('r');
    expect(again.state.shards.get('sha1')).toMatchObject({ fileId: 'file-1', batchId: 'batch_1' });
    expect(again.state.batches.get('batch_1')).toMatchObject({ status: 'completed', shardPath: 'b/batch_00001.jsonl', outputFileId: 'file-o', downloaded: { output: { lines: 3 } } });
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(6);
  });

  it('keeps rounds apart by key, and reads the round-less events of logs written before rounds were in the key', async () => {
    const file = path.join(await tempDir(), 'manifest.jsonl');
    const m = await Manifest.open(file);
    await m.append({ type: 'run', run_id: 'r', config: 'c', provider: 'local', endpoint: '/v1/chat/completions', model: 'm', dataset: 'd' });
    // Round 0 and a round 1 whose shard is byte for byte the same (the same rows failed again).
    await m.append({ type: 'shard', run_id: 'r', shard: shard(1) });
    await m.append({ type: 'batch', sha256: 'sha1', batch_id: 'batch_a', input_file_id: 'file-a' });
    await m.append({ type: 'shard', run_id: 'r', shard: { ...shard(1), round: 1 }, round: 1 });
    await m.append({ type: 'batch', sha256: 'sha1', round: 1, batch_id: 'batch_b', input_file_id: 'file-b' });
    // An older log: a round-2 shard whose upload and batch events carry no round.
    await m.append({ type: 'shard', run_id: 'r', shard: shard(2), round: 2 });
    await m.append({ type: 'uploading', sha256: 'sha2', filename: 'r2_batch_00002.sha2.jsonl' });
    await m.append({ type: 'uploaded', sha256: 'sha2', file_id: 'file-c', bytes: 100 });
    await m.append({ type: 'batch', sha256: 'sha2', batch_id: 'batch_c', input_file_id: 'file-c' });
    await m.close();
    const again = await Manifest.open(file);
    expect(again.state.shards.get('sha1')).toMatchObject({ round: 0, batchId: 'batch_a' });
    expect(again.state.shards.get('sha1@round1')).toMatchObject({ round: 1, batchId: 'batch_b' });
    expect(again.state.shards.get('sha2@round2')).toMatchObject({ round: 2, uploadName: 'r2_batch_00002.sha2.jsonl', fileId: 'file-c', batchId: 'batch_c' });
    expect(again.state.shards.has('sha2')).toBe(false);
    expect(again.state.batches.get('batch_b')).toMatchObject({ sha256: 'sha1', round: 1 });
    expect(again.state.batches.get('batch_c')).toMatchObject({ sha256: 'sha2', round: 2 });
    await again.close();
  });

  it('drops a last line cut short by a crash, and goes on appending after it', async () => {
    const file = path.join(await tempDir(), 'manifest.jsonl');
    await writeFile(file, `${JSON.stringify({ type: 'shard', at: 'x', run_id: 'r', shard: shard(1) })}\n{"type":"uploaded","sha256":"sha1","fi`);
    const m = await Manifest.open(file);
    expect(m.state.shards.get('sha1')?.fileId).toBeUndefined();
    await m.append({ type: 'uploaded', sha256: 'sha1', file_id: 'file-2', bytes: 100 });
    await m.close();
    const lines = (await readFile(file, 'utf8')).split('\n');
    expect(lines).toHaveLength(3);
    expect((await Manifest.open(file)).state.shards.get('sha1')?.fileId).toBe('file-2');
  });

  it('refuses a manifest damaged in the middle, naming the line', async () => {
    const file = path.join(await tempDir(), 'manifest.jsonl');
    await writeFile(file, `{"type":"run"}\nnot json\n{"type":"run"}\n`);
    await expect(Manifest.open(file)).rejects.toThrow(/line 2 is not valid JSON/);
  });

  it('runs its hook before and after each event; a throw stops there', async () => {
    const file = path.join(await tempDir(), 'manifest.jsonl');
    const seen: string[] = [];
    const m = await Manifest.open(file, {
      onAppend: (e, phase) => {
        seen.push(`${phase}:${e.type}`);
        if (e.type === 'batch' && phase === 'before') throw new Error('crash');
      },
    });
    await m.append({ type: 'uploaded', sha256: 's', file_id: 'f', bytes: 1 });
    await expect(m.append({ type: 'batch', sha256: 's', batch_id: 'b', input_file_id: 'f' })).rejects.toThrow('crash');
    await m.close();
    expect(seen).toEqual(['before:uploaded', 'after:uploaded', 'before:batch']);
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(1);
  });

  it("reads the original scripts' tracking file", async () => {
    const file = path.join(await tempDir(), 'batch_tracking.txt');
    await writeFile(file, 'batch_abc123,./batches/batch_1.jsonl\r\nbatch_def456,./batches/batch_2.jsonl\n\n');
    const state = await readTrackingFile(file);
    expect([...state.batches.values()]).toEqual([
      { batchId: 'batch_abc123', shardPath: './batches/batch_1.jsonl' },
      { batchId: 'batch_def456', shardPath: './batches/batch_2.jsonl' },
    ]);
    await appendFile(file, 'oops\n');
    await expect(readTrackingFile(file)).rejects.toThrow(/line 4: expected "batch_id,path"/);
  });
});
