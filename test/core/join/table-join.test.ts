import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IdTable, idHashes } from '../../../src/core/join/id-table.js';
import { datasetKeys } from '../../../src/core/join/join-keys.js';
import { fileChunks, type ChunkIds } from '../../../src/core/join/table-join.js';
import { joinResultsOnThreads, readIdsOnThreads } from '../../../src/core/join/table-join-thread.js';
import { tempDir } from '../../helpers/server.js';
import { explained, httpErrorLine, okLine, writeLines } from '../../helpers/results.js';

describe('joinResultsOnThreads', () => {
  it('writes each result line of a row once, to its bucket, however the results are cut and shared between threads', async () => {
    const dir = await tempDir('be-table-join-');
    const table = new IdTable(1024);
    const into = { key: 0, check: 0 };
    for (let line = 1; line <= 300; line++) {
      const literal = Buffer.from(JSON.stringify(`row-${line}`));
      idHashes(literal, 0, literal.length, into);
      table.insert(into.key, into.check, line);
    }
    const lines = Array.from({ length: 400 }, (_, i) => (i % 7 === 0 ? httpErrorLine(`row-${(i % 300) + 1}`, 500, null, 'boom') : okLine(i < 350 ? `row-${(i % 300) + 1}` : `stranger-${i}`, explained(`answer ${i} مصر`))));
    const results = await writeLines(path.join(dir, 'out.jsonl'), [...lines, '{"no id": 1}']);
    const sources = [{ path: results, order: 0 }];
    const { size } = await stat(results);
    const records = async (folder: string) => {
      const all: string[] = [];
      for (const f of (await readdir(folder)).sort()) all.push(...(await readFile(path.join(folder, f), 'utf8')).trim().split('\n').map((r) => `${f.split('-')[1]} ${r}`));
      return all.sort();
    };
    const whole = await tempDir('be-table-join-');
    const one = await joinResultsOnThreads({ table: table.memory, sources, chunks: fileChunks([size]), dir: whole, linesPerBucket: 64 }, 0);
    const cut = await tempDir('be-table-join-');
    const two = await joinResultsOnThreads({ table: table.memory, sources, chunks: fileChunks([size], 97), dir: cut, linesPerBucket: 64 }, 2);
    // Lines 350 to 399 answer strangers, but for the failures among them (every 7th: 8).
    expect(one).toEqual({ bad: 1, unmatched: 42, outcomes: 358 });
    expect(two).toEqual(one);
    const byOne = await records(whole);
    expect(byOne).toHaveLength(358);
    expect(await records(cut)).toEqual(byOne);
    // `<line>\t<order>\t<payload>` in the bucket of its line.
    for (const r of byOne) {
      const [bucket, rest] = r.split(' ', 2) as [string, string];
      const line = Number(rest.split('\t')[0]);
      expect(Math.floor((line - 1) / 64)).toBe(Number(bucket));
    }
  });
});

describe('readIdsOnThreads', () => {
  it("numbers each keyed row as datasetKeys does, however the dataset is cut and shared, and stops when told", async () => {
    const dir = await tempDir('be-table-ids-');
    const rows = Array.from({ length: 500 }, (_, i) => (i % 11 === 0 ? '' : i % 13 === 0 ? 'not json' : i % 17 === 0 ? '{"no": "id"}' : JSON.stringify({ id: i % 19 === 0 ? i : `row ${i} مصر`, text: 'x'.repeat(i % 40) })));
    const dataset = await writeLines(path.join(dir, 'data.jsonl'), ['\uFEFF{"id": "first"}', ...rows]);
    const expected: Array<[number, number, number]> = [];
    const into = { key: 0, check: 0 };
    for (const k of datasetKeys(dataset)) {
      idHashes(k.id.buf, k.id.start, k.id.end, into);
      expected.push([k.line, into.key, into.check]);
    }
    const { size } = await stat(dataset);
    for (const threads of [0, 2]) {
      const chunks: ChunkIds[] = [];
      await readIdsOnThreads(dataset, fileChunks([size], 101), threads, (ids) => chunks.push(ids) > 0);
      chunks.sort((a, b) => a.chunk - b.chunk);
      const got: Array<[number, number, number]> = [];
      let base = 0;
      for (const c of chunks) {
        for (let i = 0; i < c.count; i++) got.push([base + c.rels[i]!, c.keys[i]!, c.checks[i]!]);
        base += c.lines;
      }
      expect(got).toEqual(expected);
      expect(base).toBe(rows.length + 1);
      // Told to stop at the third chunk: no failure (on threads, chunks already posted still come).
      let told = 0;
      await readIdsOnThreads(dataset, fileChunks([size], 101), threads, () => ++told < 3);
      if (threads === 0) expect(told).toBe(3);
      else expect(told).toBeGreaterThanOrEqual(3);
    }
  });
});
