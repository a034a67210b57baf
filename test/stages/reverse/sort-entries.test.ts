import { readdir } from 'node:fs/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sortEntries } from '../../../src/stages/reverse/sort-entries.js';
import { RunLinesCursor, RunLinesWriter, type RunLines } from '../../../src/core/sort/run-lines.js';
import { SortMemory } from '../../../src/core/sort/run-sorter.js';
import type { ExternalSortStats } from '../../../src/stages/reverse/external-sort.js';
import { tempDir } from '../../helpers/server.js';

type Entry = [key: number, payload: string];

/** Entries as chunks of run lines of about `chunkBytes` (each a copy: a chunk is the receiver's to keep here). */
async function* chunksOf(entries: Entry[], chunkBytes: number): AsyncGenerator<RunLines> {
  const out = new RunLinesWriter(chunkBytes);
  for (const [key, payload] of entries) {
    out.addText(key, payload);
    if (out.full) yield Buffer.from(out.take());
  }
  if (!out.empty) yield Buffer.from(out.take());
}

/** The entries of a stream of chunks, read through the cursor the stages use (it awaits between chunks only). */
async function entriesOf(chunks: AsyncIterable<RunLines>): Promise<Entry[]> {
  const cursor = new RunLinesCursor(chunks);
  const entries: Entry[] = [];
  for (await cursor.load(); !cursor.done; ) {
    entries.push([cursor.key, cursor.entry.buf.toString('utf8', cursor.entry.start, cursor.entry.end)]);
    if (!cursor.step()) await cursor.load();
  }
  return entries;
}

const stableSort = (entries: Entry[]) => entries.map((e, i) => [e, i] as const).sort((a, b) => a[0][0] - b[0][0] || a[1] - b[1]).map(([e]) => e);

describe('sortEntries', () => {
  it('property: any keys (-1 to 2^53 - 1), payloads and sizes give the stable sort, and no run is left behind', async () => {
    const tmp = await tempDir('be-sortlines-');
    const key = fc.oneof(fc.constant(-1), fc.nat({ max: 50 }), fc.maxSafeNat());
    const payload = fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => s.replace(/\n/g, ' '));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(key, payload), { maxLength: 300 }), fc.integer({ min: 64, max: 4000 }), fc.integer({ min: 16, max: 600 }), async (entries, memoryBytes, chunkBytes) => {
        const sorted = await entriesOf(sortEntries({ memoryBytes, fanIn: 3, tmpDir: tmp, chunkBytes })(chunksOf(entries, chunkBytes)));
        expect(sorted).toEqual(stableSort(entries));
      }),
      { numRuns: 120 },
    );
    expect(await readdir(tmp)).toEqual([]);
  });

  it('takes an entry larger than its memory, and one line longer than a chunk', async () => {
    const tmp = await tempDir('be-sortlines-');
    const big = 'ب'.repeat(3000);
    const entries: Entry[] = [[5, 'a'], [3, big], [4, 'b'], [3, 'c']];
    let stats: ExternalSortStats | undefined;
    const sorted = await entriesOf(sortEntries({ memoryBytes: 1024, tmpDir: tmp, chunkBytes: 100, onStats: (s) => (stats = s) })(chunksOf(entries, 100)));
    expect(sorted).toEqual([[3, big], [3, 'c'], [4, 'b'], [5, 'a']]);
    expect(stats).toMatchObject({ items: 4, presorted: false });
    expect(stats!.runs).toBeGreaterThan(1);
  });

  it('given a shared arena, spills before its first line goes out, so that the next sort of the pipeline fills the same arena meanwhile', async () => {
    const tmp = await tempDir('be-sortlines-');
    const memory = new SortMemory(8192);
    const arena = memory.take();
    memory.give(arena);
    const taken: Buffer[] = [];
    const take = memory.take.bind(memory);
    memory.take = () => {
      const buffer = take();
      taken.push(buffer);
      return buffer;
    };
    // Few enough to fit in the arena: a sort would otherwise read them from there, holding it.
    const entries: Entry[] = Array.from({ length: 100 }, (_, i) => [(i * 7919) % 100, `row ${i}`]);
    const first = sortEntries({ memory, tmpDir: tmp, chunkBytes: 256 });
    // The second sort re-keys the first one's output as it comes: it fills while the first is read.
    async function* rekeyed(chunks: AsyncIterable<RunLines>): AsyncGenerator<RunLines> {
      const out = new RunLinesWriter(256);
      const cursor = new RunLinesCursor(chunks);
      for (await cursor.load(); !cursor.done; ) {
        out.addText(1000 - cursor.key, cursor.entry.buf.toString('utf8', cursor.entry.start, cursor.entry.end));
        if (out.full) yield out.take();
        if (!cursor.step()) await cursor.load();
      }
      if (!out.empty) yield out.take();
    }
    const second = sortEntries({ memory, tmpDir: tmp, chunkBytes: 256 });
    const sorted = await entriesOf(second(rekeyed(first(chunksOf(entries, 256)))));
    expect(sorted.map(([k]) => k)).toEqual(Array.from({ length: 100 }, (_, i) => 1000 - (99 - i)));
    // One arena served both sorts, in turn.
    expect(taken.length).toBeGreaterThanOrEqual(2);
    for (const buffer of taken) expect(buffer).toBe(arena);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('removes its runs when the consumer stops early, when the source fails, and when stopped', async () => {
    const tmp = await tempDir('be-sortlines-');
    const entries: Entry[] = Array.from({ length: 2000 }, (_, i) => [(i * 31) % 997, `entry ${i}`]);
    for await (const _ of sortEntries({ memoryBytes: 2000, tmpDir: tmp, chunkBytes: 64 })(chunksOf(entries, 64))) break;
    expect(await readdir(tmp)).toEqual([]);
    async function* failing() {
      yield* chunksOf(entries, 64);
      throw new Error('source failed');
    }
    await expect(entriesOf(sortEntries({ memoryBytes: 2000, tmpDir: tmp })(failing()))).rejects.toThrow('source failed');
    const stop = new AbortController();
    stop.abort(new Error('stopped'));
    await expect(entriesOf(sortEntries({ memoryBytes: 2000, tmpDir: tmp })(chunksOf(entries, 64), { signal: stop.signal }))).rejects.toThrow('stopped');
    expect(await readdir(tmp)).toEqual([]);
  });
});

describe('RunLinesWriter', () => {
  it('refuses what a run line cannot hold', () => {
    const out = new RunLinesWriter(64);
    expect(() => out.addText(1, 'a\nb')).toThrow(/newline/);
    expect(() => out.addText(1.5, 'a')).toThrow(/not a safe integer/);
    expect(() => out.addText(2 ** 53, 'a')).toThrow(/not a safe integer/);
    out.addText(-1, 'x\ty');
    expect(out.take().toString()).toBe('-1\tx\ty\n');
  });
});
