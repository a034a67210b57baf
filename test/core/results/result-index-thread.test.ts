import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { indexResultsOnThread } from '../../../src/core/results/result-index-thread.js';
import { readPointerKey } from '../../../src/core/join/join-keys.js';
import { RunSorter } from '../../../src/core/sort/run-sorter.js';
import { tempDir } from '../../helpers/server.js';
import { indexedResultsFile } from '../../helpers/results.js';

describe('indexResultsOnThread', () => {
  it('hands over sorted runs of every result line, and counts the lines that are not', async () => {
    const dir = await tempDir('be-index-');
    const file = await indexedResultsFile(dir, 5000);
    const indexed = await indexResultsOnThread([{ path: file, order: 0 }], { memoryBytes: 64 * 1024, tmpDir: dir });
    expect(indexed.bad).toBe(1);
    expect(indexed.runs.runs.length).toBeGreaterThan(2);
    const sorter = RunSorter.attach(indexed.runs, { memoryBytes: 64 * 1024, tmpDir: dir });
    const keys = Array.from(sorter.sorted(), (e) => readPointerKey(e));
    sorter.dispose();
    expect(keys).toHaveLength(4999);
    expect(keys.every((k, i) => i === 0 || keys[i - 1]!.hash <= k.hash)).toBe(true);
    expect(new Set(keys.map((k) => k.offset)).size).toBe(4999);
    expect(await readdir(dir)).toEqual(['out.jsonl']);
  });

  it('stops on abort and removes its runs', async () => {
    const dir = await tempDir('be-index-');
    const file = await indexedResultsFile(dir, 300_000);
    const controller = new AbortController();
    const indexing = indexResultsOnThread([{ path: file, order: 0 }], { memoryBytes: 64 * 1024, tmpDir: dir }, controller.signal);
    setTimeout(() => controller.abort(new Error('stop')), 20);
    await expect(indexing).rejects.toThrow(/stop/);
    expect(await readdir(dir)).toEqual(['out.jsonl']);
  });
});
