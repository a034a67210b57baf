import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { readRunsOnThread } from '../../../src/core/sort/run-reader-thread.js';
import { EntryBatch } from '../../../src/core/sort/entry-batch.js';
import { RunSorter } from '../../../src/core/sort/run-sorter.js';
import { entriesOf } from '../../helpers/entry-batches.js';
import { tempDir } from '../../helpers/server.js';

/** A sorter's runs, spilled and handed over, for entries `[key, payload]`. */
function spilledRuns(entries: Array<[number, string]>, tmpDir: string, memoryBytes = 512) {
  const sorter = new RunSorter({ memoryBytes, tmpDir });
  for (const [key, payload] of entries) sorter.add(key, payload);
  sorter.flush();
  return sorter.detach();
}

describe('readRunsOnThread', () => {
  it('merges the runs in key order, stable, in batches of the size asked for, and removes them', async () => {
    const tmp = await tempDir('be-run-reader-');
    const entries: Array<[number, string]> = Array.from({ length: 500 }, (_, i) => [(i * 7919) % 97, `payload ${i} ${'x'.repeat(i % 40)}`]);
    const spilled = spilledRuns(entries, tmp);
    expect(spilled.runs.length).toBeGreaterThan(20);
    const sizes: number[] = [];
    async function* counted(batches: AsyncIterable<EntryBatch>) {
      for await (const b of batches) {
        sizes.push(b.count);
        yield b;
      }
    }
    // fanIn 4: the runs are merged in passes on the thread first.
    const sorted = await entriesOf(counted(readRunsOnThread(spilled, { entries: 16, bytes: 4096, fanIn: 4 })));
    const expected = entries.map((e, i) => [e, i] as const).sort((a, b) => a[0][0] - b[0][0] || a[1] - b[1]).map(([e]) => e);
    expect(sorted).toEqual(expected);
    expect(Math.max(...sizes)).toBe(16);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(500);
    expect(existsSync(spilled.dir!)).toBe(false);
  });

  it('fails with the thread\'s error when a run is gone, and still cleans up', async () => {
    const tmp = await tempDir('be-run-reader-');
    const spilled = spilledRuns(Array.from({ length: 200 }, (_, i): [number, string] => [200 - i, `p${i}`]), tmp);
    await rm(spilled.runs[1]!);
    await expect(entriesOf(readRunsOnThread(spilled))).rejects.toThrow(/run reader thread: .*ENOENT/);
    expect(existsSync(spilled.dir!)).toBe(false);
  });

  it('removes the runs when stopped before it has begun', async () => {
    const tmp = await tempDir('be-run-reader-');
    const spilled = spilledRuns(Array.from({ length: 200 }, (_, i): [number, string] => [200 - i, `p${i}`]), tmp);
    const stop = new AbortController();
    stop.abort(new Error('stopped'));
    await expect(entriesOf(readRunsOnThread(spilled, { signal: stop.signal }))).rejects.toThrow('stopped');
    expect(existsSync(spilled.dir!)).toBe(false);
  });

  it('refuses runs of string keys', async () => {
    const tmp = await tempDir('be-run-reader-');
    const sorter = new RunSorter({ memoryBytes: 256, tmpDir: tmp });
    for (let i = 0; i < 50; i++) sorter.add(`k${i}`, 'v');
    sorter.flush();
    const spilled = sorter.detach();
    await expect(entriesOf(readRunsOnThread(spilled))).rejects.toThrow(/string keys/);
    expect(existsSync(spilled.dir!)).toBe(false);
  });
});

describe('EntryBatch parts', () => {
  it('a batch handed over as parts is the same batch, and one over another buffer has none', () => {
    const batch = new EntryBatch({ entries: 2, bytes: 16 });
    batch.addText(3, 'three');
    batch.addText(1, 'a longer payload than the batch');
    batch.addText(2 ** 53 - 1, 'last');
    const copy = new EntryBatch({ parts: structuredClone(batch.parts()) });
    const read = (b: EntryBatch) => Array.from({ length: b.count }, (_, i) => [b.keys[i], b.bytes.toString('utf8', b.starts[i], b.ends[i])]);
    expect(read(copy)).toEqual([[3, 'three'], [1, 'a longer payload than the batch'], [2 ** 53 - 1, 'last']]);
    copy.addText(4, 'more');
    expect(read(copy).at(-1)).toEqual([4, 'more']);
    copy.over(Buffer.from('x\n'));
    expect(() => copy.parts()).toThrow(/over another buffer/);
  });
});
