import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sortEntries } from '../../../src/stages/reverse/sort-entries.js';
import { EntryBatch, EntryBatchCursor } from '../../../src/core/sort/entry-batch.js';
import { SortMemory } from '../../../src/core/sort/run-sorter.js';
import type { ExternalSortStats } from '../../../src/stages/reverse/external-sort.js';
import { batchesOf, entriesOf, type Entry } from '../../helpers/entry-batches.js';
import { tempDir } from '../../helpers/server.js';

const stableSort = (entries: Entry[]) => entries.map((e, i) => [e, i] as const).sort((a, b) => a[0][0] - b[0][0] || a[1] - b[1]).map(([e]) => e);

describe('sortEntries', () => {
  it('property: any keys (-1 to 2^53 - 1), payloads and sizes give the stable sort, and no run is left behind', async () => {
    const tmp = await tempDir('be-sort-entries-');
    const key = fc.oneof(fc.constant(-1), fc.nat({ max: 50 }), fc.maxSafeNat());
    const payload = fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => s.replace(/\n/g, ' '));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(key, payload), { maxLength: 300 }), fc.integer({ min: 64, max: 4000 }), fc.integer({ min: 16, max: 600 }), async (entries, memoryBytes, batchBytes) => {
        const sorted = await entriesOf(sortEntries({ memoryBytes, fanIn: 3, tmpDir: tmp, batchBytes })(batchesOf(entries, batchBytes)));
        expect(sorted).toEqual(stableSort(entries));
      }),
      { numRuns: 120 },
    );
    expect(await readdir(tmp)).toEqual([]);
  });

  it('property: read back on a thread once it spilled, the same stable sort, and no run is left behind', async () => {
    const tmp = await tempDir('be-sort-entries-');
    const key = fc.oneof(fc.constant(-1), fc.nat({ max: 50 }), fc.maxSafeNat());
    const payload = fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => s.replace(/\n/g, ' '));
    const runs: number[] = [];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(key, payload), { maxLength: 400, size: 'max' }), fc.integer({ min: 64, max: 4000 }), fc.integer({ min: 16, max: 600 }), async (entries, memoryBytes, batchBytes) => {
        const ports = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
        const before = ports();
        let threads = 0;
        async function* watched(batches: AsyncIterable<EntryBatch>) {
          for await (const b of batches) {
            threads = Math.max(threads, ports() - before);
            yield b;
          }
        }
        let stats: ExternalSortStats | undefined;
        const sorted = await entriesOf(watched(sortEntries({ memoryBytes, fanIn: 3, tmpDir: tmp, batchBytes, readOnThread: true, onStats: (s) => (stats = s) })(batchesOf(entries, batchBytes))));
        expect(sorted).toEqual(stableSort(entries));
        runs.push(stats!.runs);
        // Read on a thread exactly when the sort spilled.
        expect(threads).toBe(stats!.runs > 0 ? 1 : 0);
      }),
      // Each case that spills starts a thread.
      { numRuns: 15 },
    );
    // Most cases spilled past the fan-in (merged in passes on the thread).
    expect(runs.filter((r) => r > 3).length).toBeGreaterThan(3);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('reading on a thread: ends the thread and removes the runs when the consumer stops early, and fails when stopped', async () => {
    const tmp = await tempDir('be-sort-entries-');
    const entries: Entry[] = Array.from({ length: 3000 }, (_, i) => [(i * 31) % 997, `entry ${i}`]);
    // A thread's port is an active resource of this process while the thread runs.
    const ports = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
    const before = ports();
    const early = sortEntries({ memoryBytes: 2000, tmpDir: tmp, readOnThread: true, batchBytes: 256 })(batchesOf(entries, 64));
    const first = await early.next();
    expect(first.done).toBe(false);
    expect(ports()).toBe(before + 1);
    expect((await readdir(tmp)).length).toBe(1);
    await early.return(undefined);
    expect(ports()).toBe(before);
    expect(await readdir(tmp)).toEqual([]);
    const stop = new AbortController();
    const stopped = sortEntries({ memoryBytes: 2000, tmpDir: tmp, readOnThread: true, batchBytes: 256 })(batchesOf(entries, 64), { signal: stop.signal });
    await stopped.next();
    stop.abort(new Error('stopped'));
    await expect(entriesOf(stopped)).rejects.toThrow('stopped');
    expect(ports()).toBe(before);
    expect(await readdir(tmp)).toEqual([]);
    // Stopped as its input ends: between the sort and the thread.
    const late = new AbortController();
    async function* stoppingAtTheEnd() {
      yield* batchesOf(entries, 64);
      late.abort(new Error('stopped late'));
    }
    await expect(entriesOf(sortEntries({ memoryBytes: 2000, tmpDir: tmp, readOnThread: true })(stoppingAtTheEnd(), { signal: late.signal }))).rejects.toThrow('stopped late');
    expect(ports()).toBe(before);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('takes an entry larger than its memory, and a payload longer than a batch', async () => {
    const tmp = await tempDir('be-sort-entries-');
    const big = 'ب'.repeat(3000);
    const entries: Entry[] = [[5, 'a'], [3, big], [4, 'b'], [3, 'c']];
    let stats: ExternalSortStats | undefined;
    const sorted = await entriesOf(sortEntries({ memoryBytes: 1024, tmpDir: tmp, batchBytes: 100, onStats: (s) => (stats = s) })(batchesOf(entries, 100)));
    expect(sorted).toEqual([[3, big], [3, 'c'], [4, 'b'], [5, 'a']]);
    expect(stats).toMatchObject({ items: 4, presorted: false });
    expect(stats!.runs).toBeGreaterThan(1);
  });

  it('given a shared arena, spills before its first line goes out, so that the next sort of the pipeline fills the same arena meanwhile', async () => {
    const tmp = await tempDir('be-sort-entries-');
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
    const first = sortEntries({ memory, tmpDir: tmp, batchBytes: 256 });
    // The second sort re-keys the first one's output as it comes: it fills while the first is read.
    async function* rekeyed(batches: AsyncIterable<EntryBatch>): AsyncGenerator<EntryBatch> {
      const out = new EntryBatch({ bytes: 256 });
      const cursor = new EntryBatchCursor(batches);
      for (await cursor.load(); !cursor.done; ) {
        out.addBytes(1000 - cursor.key, cursor.entry.buf, cursor.entry.start, cursor.entry.end);
        if (out.full) {
          yield out;
          out.clear();
        }
        if (!cursor.step()) await cursor.load();
      }
      if (!out.empty) yield out;
    }
    const second = sortEntries({ memory, tmpDir: tmp, batchBytes: 256 });
    const sorted = await entriesOf(second(rekeyed(first(batchesOf(entries, 256)))));
    expect(sorted.map(([k]) => k)).toEqual(Array.from({ length: 100 }, (_, i) => 1000 - (99 - i)));
    // One arena served both sorts, in turn.
    expect(taken.length).toBeGreaterThanOrEqual(2);
    for (const buffer of taken) expect(buffer).toBe(arena);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('removes its runs when the consumer stops early, when the source fails, and when stopped', async () => {
    const tmp = await tempDir('be-sort-entries-');
    const entries: Entry[] = Array.from({ length: 2000 }, (_, i) => [(i * 31) % 997, `entry ${i}`]);
    // Its runs' files are closed too (Linux lists a process's open files in /proc).
    const openRuns = () =>
      existsSync('/proc/self/fd')
        ? readdirSync('/proc/self/fd').filter((fd) => {
            try {
              return readlinkSync(`/proc/self/fd/${fd}`).startsWith(tmp);
            } catch {
              return false; // closed meanwhile
            }
          }).length
        : 0;
    for await (const _ of sortEntries({ memoryBytes: 2000, tmpDir: tmp, batchBytes: 64 })(batchesOf(entries, 64))) break;
    expect(await readdir(tmp)).toEqual([]);
    expect(openRuns()).toBe(0);
    async function* failing() {
      yield* batchesOf(entries, 64);
      throw new Error('source failed');
    }
    await expect(entriesOf(sortEntries({ memoryBytes: 2000, tmpDir: tmp })(failing()))).rejects.toThrow('source failed');
    const stop = new AbortController();
    stop.abort(new Error('stopped'));
    await expect(entriesOf(sortEntries({ memoryBytes: 2000, tmpDir: tmp })(batchesOf(entries, 64), { signal: stop.signal }))).rejects.toThrow('stopped');
    expect(await readdir(tmp)).toEqual([]);
  });
});

describe('EntryBatch', () => {
  it('refuses what a sort entry cannot hold, grows for what does not fit, and points at payloads where they lie', async () => {
    expect(() => new EntryBatch({ entries: 0 })).toThrow(/at least 1 entry/);
    expect(() => new EntryBatch({ bytes: 0 })).toThrow(/at least 1 entry and 1 byte/);
    const batch = new EntryBatch({ bytes: 8, entries: 2 });
    expect(() => batch.addText(1, 'a\nb')).toThrow(/newline/);
    expect(() => batch.addText(1.5, 'a')).toThrow(/not a safe integer/);
    expect(() => batch.addText(2 ** 53, 'a')).toThrow(/not a safe integer/);
    batch.addText(-1, 'x\ty');
    batch.addText(7, 'a payload longer than the batch');
    batch.addText(2 ** 53 - 1, 'third');
    expect(await entriesOf((async function* () { yield batch; })())).toEqual([[-1, 'x\ty'], [7, 'a payload longer than the batch'], [2 ** 53 - 1, 'third']]);
    const out = Buffer.from('3\tthree\n1\tone\n');
    batch.over(out);
    batch.addView(3, 2, 7);
    batch.addView(1, 10, 13);
    expect(await entriesOf((async function* () { yield batch; })())).toEqual([[3, 'three'], [1, 'one']]);
    batch.clear();
    batch.addText(5, 'own');
    expect(batch.bytes).not.toBe(out);
  });
});
