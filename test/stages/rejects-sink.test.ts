import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { rejectsSink } from '../../src/stages/rejects-sink.js';

describe('rejectsSink', () => {
  it('writes one line per reject under a temporary name, renamed on close, and counts by code', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'be-rejects-'));
    const file = path.join(dir, 'rejects.jsonl');
    const sink = rejectsSink({ path: file });
    await sink.onReject({ file: 'd.jsonl', line: 3, stage: 'readJsonl', code: 'E_BAD_JSON', message: 'invalid JSON' });
    await sink.onReject({ line: 9, id: 'مثال', stage: 'encodeImage', code: 'E_IMAGE_FORMAT', message: 'BMP' });
    await sink.onReject({ line: 10, id: 'x', stage: 'encodeImage', code: 'E_IMAGE_FORMAT', message: 'TIFF' });
    await sink.close();
    expect(await readdir(dir)).toEqual(['rejects.jsonl']);
    const lines = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { line: 3, id: null, stage: 'readJsonl', code: 'E_BAD_JSON', message: 'invalid JSON', file: 'd.jsonl' },
      { line: 9, id: 'مثال', stage: 'encodeImage', code: 'E_IMAGE_FORMAT', message: 'BMP' },
      { line: 10, id: 'x', stage: 'encodeImage', code: 'E_IMAGE_FORMAT', message: 'TIFF' },
    ]);
    expect(sink.counts).toMatchObject({ total: 3, byCode: { E_BAD_JSON: 1, E_IMAGE_FORMAT: 2 } });
    expect(sink.counts.first.map((r) => r.line)).toEqual([3, 9, 10]);
  });

  it('discard removes the unfinished file, even one still being opened', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'be-rejects-'));
    const sink = rejectsSink({ path: path.join(dir, 'rejects.jsonl') });
    await sink.onReject({ line: 1, stage: 's', code: 'E_BAD_JSON', message: 'm' });
    await sink.discard();
    expect(await readdir(dir)).toEqual([]);
    // Discarded at once: the file's open, under way on the thread pool, used to make it after it was removed.
    for (let round = 0; round < 10; round++) {
      const at = await mkdtemp(path.join(tmpdir(), 'be-rejects-'));
      await rejectsSink({ path: path.join(at, 'rejects.jsonl') }).discard();
      // Whatever was still under way for the stream has ended (its close was awaited).
      expect(await readdir(at), `round ${round}`).toEqual([]);
    }
  });

  it('creates a missing folder, and fails at once where no folder can be made', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'be-rejects-'));
    const sink = rejectsSink({ path: path.join(dir, 'a/b/rejects.jsonl') });
    await sink.onReject({ line: 1, stage: 's', code: 'E_BAD_JSON', message: 'm' });
    await sink.close();
    expect(await readdir(path.join(dir, 'a/b'))).toEqual(['rejects.jsonl']);
    expect(() => rejectsSink({ path: '/etc/hostname/rejects.jsonl' })).toThrow(/ENOTDIR|EEXIST/);
  });
});
