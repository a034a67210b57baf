import { readdirSync, readlinkSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { indexResultEntries, indexResultEntriesOnThread } from '../../../src/stages/reverse/index-result-entries.js';
import { datasetIdEntries } from '../../../src/stages/reverse/dataset-id-entries.js';
import { sortEntries } from '../../../src/stages/reverse/sort-entries.js';
import { linesOf } from '../../helpers/entry-batches.js';
import { tempDir } from '../../helpers/server.js';
import { indexedResultsFile } from '../../helpers/results.js';

describe('indexResultEntries', () => {
  it('gives one entry per result line, <source>\\t<offset>\\t<order>\\t<literal> keyed by the hash, here or sorted on a thread, and counts the lines that are not', async () => {
    const dir = await tempDir('be-index-lines-');
    const file = await indexedResultsFile(dir, 5000);
    const sources = [{ path: file, order: 0 }];
    let bad = -1;
    const here = await linesOf(sortEntries({ memoryBytes: 64 * 1024, tmpDir: dir })(indexResultEntries({ sources, onBadLines: (n) => (bad = n) })()));
    expect(bad).toBe(1);
    let threadBad = -1;
    const thread = indexResultEntriesOnThread({ sources, memoryBytes: 64 * 1024, tmpDir: dir, onBadLines: (n) => (threadBad = n) });
    const there = await linesOf(thread);
    await thread.close();
    expect(threadBad).toBe(1);
    expect(there).toEqual(here);
    expect(here).toHaveLength(4999);
    const [hash, src, offset, order, literal] = here.find((l) => l.endsWith('"row-0"'))!.split('\t');
    expect([src, offset, order, literal]).toEqual(['0', '0', '1', '"row-0"']);
    expect(Number(hash)).toBeGreaterThan(0);
    expect(await readdir(dir)).toEqual(['out.jsonl']);
  });

  it('closes the file it reads when its consumer stops early', async () => {
    const dir = await tempDir('be-index-lines-');
    const file = await indexedResultsFile(dir, 20_000);
    const openOn = () => readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === file;
      } catch {
        return false;
      }
    }).length;
    const stage = indexResultEntries({ sources: [{ path: file, order: 0 }] })();
    await stage.next();
    expect(openOn()).toBe(1);
    await stage.return(undefined);
    expect(openOn()).toBe(0);
  });

  it('on a thread: closed without being read, or stopped, it leaves no run behind', async () => {
    const dir = await tempDir('be-index-lines-');
    const file = await indexedResultsFile(dir, 20_000);
    const unread = indexResultEntriesOnThread({ sources: [{ path: file, order: 0 }], memoryBytes: 64 * 1024, tmpDir: dir });
    await unread.indexed;
    await unread.close();
    expect(await readdir(dir)).toEqual(['out.jsonl']);
    const stop = new AbortController();
    stop.abort(new Error('stopped'));
    const stopped = indexResultEntriesOnThread({ sources: [{ path: file, order: 0 }], memoryBytes: 64 * 1024, tmpDir: dir, signal: stop.signal });
    await expect(linesOf(stopped)).rejects.toThrow('stopped');
    await stopped.close();
    expect(await readdir(dir)).toEqual(['out.jsonl']);
  });

  it('on a thread: stopped once indexed, or closed while being read, it ends its threads and leaves no run behind', async () => {
    const dir = await tempDir('be-index-lines-');
    const file = await indexedResultsFile(dir, 20_000);
    // A thread's port is an active resource of this process while the thread runs.
    const ports = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
    const before = ports();
    const stop = new AbortController();
    const late = indexResultEntriesOnThread({ sources: [{ path: file, order: 0 }], memoryBytes: 64 * 1024, tmpDir: dir, signal: stop.signal });
    await late.indexed;
    stop.abort(new Error('stopped'));
    await expect(linesOf(late)).rejects.toThrow('stopped');
    await late.close();
    expect(await readdir(dir)).toEqual(['out.jsonl']);
    const reading = indexResultEntriesOnThread({ sources: [{ path: file, order: 0 }], memoryBytes: 64 * 1024, tmpDir: dir });
    const batches = reading[Symbol.asyncIterator]();
    expect((await batches.next()).done).toBe(false);
    expect(ports()).toBe(before + 1);
    await reading.close();
    expect(ports()).toBe(before);
    expect(await readdir(dir)).toEqual(['out.jsonl']);
    // A failing onBadLines leaves nothing either.
    const failing = indexResultEntriesOnThread({ sources: [{ path: file, order: 0 }], memoryBytes: 64 * 1024, tmpDir: dir, onBadLines: () => { throw new Error('told'); } });
    await expect(linesOf(failing)).rejects.toThrow('told');
    await failing.close();
    expect(await readdir(dir)).toEqual(['out.jsonl']);
  });
});

describe('datasetIdEntries', () => {
  it('gives <line>\\t<literal> keyed by the hash for each row with a usable id, numbers as their string; rows without one are left to the splice', async () => {
    const dir = await tempDir('be-ids-');
    const dataset = path.join(dir, 'data.jsonl');
    // A byte order mark opens the file; the id comes first or later in the row.
    const rows = ['\ufeff{"id":"c"}', '{"id": "a", "text": "x"}', '', '{"text": "no id"}', 'not json', '{"id": 42}', '{"text": "id later", "id": "b\\u00e9"}', '{"id": ""}', '{"id": 1.5}'];
    await writeFile(dataset, rows.join('\n'));
    const lines = await linesOf(datasetIdEntries({ dataset, idHash: (buf, start, end) => end - start })());
    expect(lines).toEqual(['3\t1\t"c"', '3\t2\t"a"', '4\t6\t"42"', '5\t7\t"bé"']);
  });
});
