import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { removeStaleRuns, RunSorter, SortMemory, type SortKey } from '../../../src/core/sort/run-sorter.js';
import { tempDir } from '../../helpers/server.js';

const drain = (sorter: RunSorter) => Array.from(sorter.sorted(), (e) => [e.key, e.buf.toString('utf8', e.start, e.end)] as [SortKey, string]);
const stableSort = <K extends SortKey>(entries: [K, string][]) =>
  entries.map((e, i) => [e, i] as const).sort(([a, i], [b, j]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : i - j)).map(([e]) => e);

describe('RunSorter', () => {
  it('sorts string keys holding quotes, tabs, newlines and non-ASCII, through spilled runs and merge passes', async () => {
    const tmp = await tempDir('be-runs-');
    const key = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('"q', 'a\tb', 'l\nm', 'ميم', '😀', '', '"'));
    const payload = fc.string({ maxLength: 40 }).map((s) => s.replace(/\n/g, ' '));
    fc.assert(
      fc.property(fc.array(fc.tuple(key, payload), { maxLength: 400 }), (entries) => {
        const sorter = new RunSorter({ memoryBytes: 2_000, fanIn: 3, tmpDir: tmp });
        try {
          for (const [k, p] of entries) sorter.add(k, p);
          expect(drain(sorter)).toEqual(stableSort(entries));
        } finally {
          sorter.dispose();
        }
        expect(readdirSync(tmp)).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it('keeps an empty string key empty through a spilled run (it was read back as "0")', async () => {
    const tmp = await tempDir('be-runs-');
    // 190 bytes: each entry is spilled from the arena on its own (a fast-check counterexample).
    const sorter = new RunSorter({ memoryBytes: 190, fanIn: 4, tmpDir: tmp });
    try {
      sorter.add(' ', '{"id":" ","seq":0}');
      sorter.add('', '{"id":"","seq":1}');
      expect(sorter.runs).toBeGreaterThan(0);
      expect(drain(sorter)).toEqual([['', '{"id":"","seq":1}'], [' ', '{"id":" ","seq":0}']]);
    } finally {
      sorter.dispose();
    }
  });

  it('sorts number keys with payloads given as byte ranges', async () => {
    const tmp = await tempDir('be-runs-');
    const entries: [number, string][] = Array.from({ length: 5000 }, (_, i) => [(i * 7919) % 1000 - 300, `payload ${i} ✓`]);
    const sorter = new RunSorter({ memoryBytes: 16_384, tmpDir: tmp });
    for (const [k, p] of entries) {
      const bytes = Buffer.from(`<<${p}>>`);
      sorter.addBytes(k, bytes, 2, bytes.length - 2);
    }
    expect(sorter.runs).toBeGreaterThan(3);
    expect(drain(sorter)).toEqual(stableSort(entries));
    sorter.dispose();
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('refuses a payload with a newline and a mix of key kinds', () => {
    const sorter = new RunSorter({ memoryBytes: 4096 });
    expect(() => sorter.add('a', 'two\nlines')).toThrow(/newline/);
    const mixed = new RunSorter({ memoryBytes: 4096 });
    mixed.add('a', 'x');
    expect(() => mixed.add(1, 'y')).toThrow(/key/);
    sorter.dispose();
    mixed.dispose();
  });

  it('detects entries added in order and reads their runs back without merging', async () => {
    const tmp = await tempDir('be-runs-');
    const sorter = new RunSorter({ memoryBytes: 1024, fanIn: 2, tmpDir: tmp });
    for (let i = 0; i < 1000; i++) sorter.add(i, `row ${i}`);
    expect(sorter.presorted).toBe(true);
    expect(sorter.runs).toBeGreaterThan(2);
    expect(drain(sorter).map(([k]) => k)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    sorter.dispose();
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('lends one arena to successive sorters: flush gives it back, runs stay readable', async () => {
    const tmp = await tempDir('be-runs-');
    const memory = new SortMemory(4096);
    const first = new RunSorter({ memoryBytes: 0, memory, tmpDir: tmp });
    for (let i = 0; i < 50; i++) first.add(50 - i, `first ${i}`);
    first.flush();
    const arena = memory.take();
    memory.give(arena);
    const second = new RunSorter({ memoryBytes: 0, memory, tmpDir: tmp });
    second.add('b', 'second');
    second.add('a', 'second');
    expect(memory.take()).not.toBe(arena); // lent to `second`: a new one is made
    expect(drain(first).map(([k]) => k)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(drain(second).map(([k]) => k)).toEqual(['a', 'b']);
    first.dispose();
    second.dispose();
    expect(readdirSync(tmp)).toEqual([]);
  });
});

describe('RunSorter arena limits', () => {
  it('gives an entry larger than the arena a run of its own, in order with the rest', async () => {
    const tmp = await tempDir('be-runs-');
    const sorter = new RunSorter({ memoryBytes: 1024, tmpDir: tmp });
    const big = 'x'.repeat(5000);
    sorter.add(3, 'three');
    sorter.add(1, big);
    sorter.add(2, 'two');
    sorter.addBytes(0, Buffer.from(big + 'y'));
    expect(drain(sorter)).toEqual([[0, `${big}y`], [1, big], [2, 'two'], [3, 'three']]);
    sorter.dispose();
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('sorts negative and fractional number keys by comparison', () => {
    const sorter = new RunSorter({ memoryBytes: 4096 });
    for (const k of [2.5, -1, 10, -7.25, 0]) sorter.add(k, String(k));
    expect(drain(sorter).map(([k]) => k)).toEqual([-7.25, -1, 0, 2.5, 10]);
    sorter.dispose();
  });
});

describe('removeStaleRuns', () => {
  it('removes run folders of processes that are gone, and only those', async () => {
    const tmp = await tempDir('be-stale-');
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    mkdirSync(path.join(tmp, `batch-explain-sort-${gone}-abc123`));
    writeFileSync(path.join(tmp, `batch-explain-sort-${gone}-abc123`, 'run-000000.txt'), '1\tx\n');
    mkdirSync(path.join(tmp, `batch-explain-sort-${process.pid}-def456`));
    mkdirSync(path.join(tmp, 'something-else'));
    expect(removeStaleRuns(tmp)).toBe(1);
    expect(readdirSync(tmp).sort()).toEqual([`batch-explain-sort-${process.pid}-def456`, 'something-else']);
    expect(removeStaleRuns(path.join(tmp, 'missing'))).toBe(0);
  });
});
