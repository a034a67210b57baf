import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { externalSort, type ExternalSortStats } from '../../../src/stages/reverse/external-sort.js';
import { fromArray, toArray } from '../../helpers/streams.js';
import { tempDir } from '../../helpers/server.js';

type Rec = { id: string; seq: number; text: string };
const records = (n: number, seed = 1): Rec[] => {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: n }, (_, seq) => ({ id: `id-${Math.floor(rand() * n / 2)}`, seq, text: 'نص '.repeat(Math.floor(rand() * 20)) }));
};
const byIdThenSeq = (a: Rec, b: Rec) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.seq - b.seq);

describe('externalSort', () => {
  it('sorts with runs forced small: every record once, stable, temp files gone', async () => {
    const tmp = await tempDir('be-sort-');
    const input = records(3000);
    let stats: ExternalSortStats | undefined;
    const out = await toArray(externalSort<Rec>({ key: (r) => r.id, memoryBytes: 20_000, tmpDir: tmp, onStats: (s) => (stats = s) })(fromArray(input)));
    expect(out).toEqual([...input].sort(byIdThenSeq));
    expect(stats!.runs).toBeGreaterThan(10);
    expect(stats!.presorted).toBe(false);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('merges in passes when there are more runs than fanIn', async () => {
    const tmp = await tempDir('be-sort-');
    const input = records(2000, 7);
    const out = await toArray(externalSort<Rec>({ key: (r) => r.id, memoryBytes: 5_000, fanIn: 3, tmpDir: tmp })(fromArray(input)));
    expect(out).toEqual([...input].sort(byIdThenSeq));
    expect(await readdir(tmp)).toEqual([]);
  });

  it('sorts numbers numerically and small inputs in memory', async () => {
    let stats: ExternalSortStats | undefined;
    const out = await toArray(externalSort<{ line: number }>({ key: (r) => r.line, onStats: (s) => (stats = s) })(fromArray([{ line: 10 }, { line: 9 }, { line: 100 }, { line: 1 }])));
    expect(out.map((r) => r.line)).toEqual([1, 9, 10, 100]);
    expect(stats).toEqual({ items: 4, runs: 0, presorted: false });
  });

  it('detects input already in order: nothing sorted, runs read back in turn', async () => {
    const tmp = await tempDir('be-sort-');
    const input = Array.from({ length: 2000 }, (_, i) => ({ id: `k${String(i).padStart(5, '0')}`, seq: i, text: 'x' }));
    let stats: ExternalSortStats | undefined;
    const out = await toArray(externalSort<Rec>({ key: (r) => r.id, memoryBytes: 10_000, fanIn: 2, tmpDir: tmp, onStats: (s) => (stats = s) })(fromArray(input)));
    expect(out).toEqual(input);
    expect(stats!.presorted).toBe(true);
    expect(stats!.runs).toBeGreaterThan(2);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('removes its runs when the consumer stops early and when the source fails', async () => {
    const tmp = await tempDir('be-sort-');
    let taken = 0;
    for await (const _ of externalSort<Rec>({ key: (r) => r.id, memoryBytes: 5_000, tmpDir: tmp })(fromArray(records(1000)))) {
      if (++taken === 3) break;
    }
    expect(await readdir(tmp)).toEqual([]);
    async function* failing() {
      yield* records(500);
      throw new Error('source failed');
    }
    await expect(toArray(externalSort<Rec>({ key: (r) => r.id, memoryBytes: 5_000, tmpDir: tmp })(failing()))).rejects.toThrow('source failed');
    expect(await readdir(tmp)).toEqual([]);
  });

  it('property: any input and memory size gives the stable sort', async () => {
    const tmp = await tempDir('be-sort-');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.string({ unit: 'grapheme', maxLength: 4 }), fc.integer()), { maxLength: 200 }), fc.integer({ min: 100, max: 5000 }), async (pairs, memoryBytes) => {
        const input = pairs.map(([id, n], seq) => ({ id, seq, text: String(n) }));
        const out = await toArray(externalSort<Rec>({ key: (r) => r.id, memoryBytes, fanIn: 4, tmpDir: tmp })(fromArray(input)));
        expect(out).toEqual([...input].sort(byIdThenSeq));
      }),
      { numRuns: 80 },
    );
    expect(await readdir(tmp)).toEqual([]);
  });
});
