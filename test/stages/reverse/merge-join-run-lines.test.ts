import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { joinEntries, type DatasetKey, type JoinedRow, type PointerKey } from '../../../src/core/join/join-keys.js';
import { RunSorter, type SortedEntry } from '../../../src/core/sort/run-sorter.js';
import { tempDir } from '../../helpers/server.js';

/** A dataset entry `<line>\t<literal>` and a result pointer `<src>\t<offset>\t<order>\t<literal>`, as the merge's steps 1 and 2 write them. */
const row = (line: number, literal: string) => `${line}\t${literal}`;
const pointer = (src: number, offset: number, order: number, literal: string) => `${src}\t${offset}\t${order}\t${literal}`;

function sorterOf(entries: Array<[number, string]>, tmpDir: string): RunSorter {
  const sorter = new RunSorter({ memoryBytes: 32 * 1024, tmpDir });
  for (const [hash, payload] of entries) sorter.add(hash, payload);
  sorter.flush();
  return sorter;
}

describe('joinEntries', () => {
  it('joins one row and one result per id from the entry bytes, across refills of the runs being read; hands every other group over', async () => {
    const tmp = await tempDir('be-join-');
    // Long literals: the runs are read back through buffers refilled many times over.
    const literal = (i: number) => JSON.stringify(`data/${'طريق/'.repeat(30)}${i}.jpg`);
    const hashOf = (i: number) => (i * 2654435761) % 1_000_003;
    const lefts: Array<[number, string]> = [];
    const rights: Array<[number, string]> = [];
    for (let i = 0; i < 3000; i++) {
      lefts.push([hashOf(i), row(i + 1, literal(i))]);
      rights.push([hashOf(i), pointer(i % 3, 1000 * i, i, literal(i))]);
    }
    // The other groups: a repeated row, a repeated result, a row with none, a result with no row, two ids on one hash.
    lefts.push([hashOf(10), row(5001, literal(10))]);
    rights.push([hashOf(20), pointer(1, 77, 9, literal(20))]);
    lefts.push([7, row(5002, '"alone"')]);
    rights.push([8, pointer(0, 5, 5, '"orphan"')]);
    lefts.push([9, row(5003, '"one"')]);
    rights.push([9, pointer(2, 6, 6, '"other"')]);
    const keys = sorterOf(lefts, tmp);
    const pointers = sorterOf(rights, tmp);
    const joined = new RunSorter({ memoryBytes: 32 * 1024, tmpDir: tmp });
    const handed: Array<{ lefts: DatasetKey[]; rights: PointerKey[] }> = [];
    const other = (l: DatasetKey[], r: PointerKey[]): JoinedRow[] => {
      handed.push({ lefts: l, rights: r });
      return l.map((x) => ({ key: -1, payload: `${x.line}\tother` }));
    };
    try {
      expect(keys.runs).toBeGreaterThan(3);
      joinEntries(keys.sorted(), pointers.sorted(), joined, other);
      const out = new Map(Array.from(joined.sorted(), (e) => [e.buf.toString('utf8', e.start, e.end), e.key]));
      for (let i = 0; i < 3000; i++) {
        if (i === 10 || i === 20) continue;
        expect(out.get(String(i + 1)), `row ${i + 1}`).toBe((i % 3) * 2 ** 40 + 1000 * i);
      }
      expect(out.size).toBe(2998 + 5);
      // Literals are handed over as latin1 (compared, rarely decoded).
      const text = (latin1: string) => Buffer.from(latin1, 'latin1').toString('utf8');
      const summary = handed.map((g) => [g.lefts.map((l) => [l.line, text(l.literal)]), g.rights.map((r) => [r.src, r.offset, r.order, text(r.literal)])]);
      expect(summary).toEqual(
        expect.arrayContaining([
          [[[11, literal(10)], [5001, literal(10)]], [[1, 10_000, 10, literal(10)]]],
          [[[21, literal(20)]], [[2, 20_000, 20, literal(20)], [1, 77, 9, literal(20)]]],
          [[[5002, '"alone"']], []],
          [[], [[0, 5, 5, '"orphan"']]],
          [[[5003, '"one"']], [[2, 6, 6, '"other"']]],
        ]),
      );
      expect(handed).toHaveLength(5);
    } finally {
      for (const s of [keys, pointers, joined]) s.dispose();
    }
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('refuses a side out of order', () => {
    const entries = (list: Array<[number, string]>): SortedEntry[] => list.map(([key, text]) => ({ key, buf: Buffer.from(text), start: 0, end: Buffer.byteLength(text) }));
    const joined = new RunSorter({ memoryBytes: 4096 });
    const run = (l: Array<[number, string]>, r: Array<[number, string]>) => () => joinEntries(entries(l), entries(r), joined, () => []);
    expect(run([[5, row(1, '"a"')], [3, row(2, '"b"')]], [[5, pointer(0, 0, 0, '"a"')]])).toThrow(/dataset side is not sorted/);
    expect(run([[9, row(1, '"a"')]], [[5, pointer(0, 0, 0, '"x"')], [2, pointer(0, 1, 0, '"y"')]])).toThrow(/results side is not sorted/);
    joined.dispose();
  });
});
