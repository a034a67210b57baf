import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mergeJoinEntries } from '../../../src/stages/reverse/merge-join-entries.js';
import { sortEntries } from '../../../src/stages/reverse/sort-entries.js';
import { idJoin } from '../../../src/core/join/id-join.js';
import { batchesOf, linesOf } from '../../helpers/entry-batches.js';
import { tempDir } from '../../helpers/server.js';

/** A dataset entry `<line>\t<literal>` and a result pointer `<src>\t<offset>\t<order>\t<literal>`, as the merge's steps 1 and 2 write them. */
const row = (line: number, literal: string) => `${line}\t${literal}`;
const pointer = (src: number, offset: number, order: number, literal: string) => `${src}\t${offset}\t${order}\t${literal}`;

describe('mergeJoinEntries with the merge id join', () => {
  it('joins rows and results by hashed id across batches and spilled runs; repeated ids, rows with no result, results with no row and colliding hashes each get their due', async () => {
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
    const stats: number[] = [];
    const sorted = (entries: Array<[number, string]>) => sortEntries({ memoryBytes: 32 * 1024, tmpDir: tmp, batchBytes: 500, onStats: (s) => stats.push(s.runs) })(batchesOf(entries));
    const counts = { duplicateIdRows: 0, extraResults: 0, unmatchedResults: 0 };
    const lines = await linesOf(mergeJoinEntries({ right: sorted(rights), join: idJoin(counts, false), batchBytes: 700 })(sorted(lefts)));

    expect(Math.min(...stats)).toBeGreaterThan(3);
    const byLine = new Map<number, string[]>();
    for (const l of lines) {
      const [key, line, ...rest] = l.split('\t');
      byLine.set(Number(line), [...(byLine.get(Number(line)) ?? []), [key, ...rest].join('\t')]);
    }
    for (let i = 0; i < 3000; i++) {
      if (i === 10 || i === 20) continue;
      expect(byLine.get(i + 1), `row ${i + 1}`).toEqual([String((i % 3) * 2 ** 40 + 1000 * i)]);
    }
    const failure = (line: number) => JSON.parse(byLine.get(line)![0]!.split('\t')[1]!.slice(1)) as [string, string, string | null, string];
    // The id on two rows: neither gets an answer.
    expect(failure(11).slice(0, 2)).toEqual([JSON.parse(literal(10)), 'duplicate_id']);
    expect(failure(5001)[3]).toMatch(/is on 2 lines \(11, 5001\)/);
    // Two results for one row: both are read, with their orders, the best kept later.
    expect(byLine.get(21)!.sort()).toEqual([`${2 * 2 ** 40 + 20_000}\t20`, `${2 ** 40 + 77}\t9`].sort());
    expect(failure(5002).slice(0, 2)).toEqual(['alone', 'no_result']);
    // "one" and "other" share a hash: told apart by their literals.
    expect(failure(5003).slice(0, 2)).toEqual(['one', 'no_result']);
    expect(byLine.size).toBe(3000 + 3);
    expect(counts).toEqual({ duplicateIdRows: 2, extraResults: 1, unmatchedResults: 2 });
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('refuses a side out of order', async () => {
    const run = (l: Array<[number, string]>, r: Array<[number, string]>) => linesOf(mergeJoinEntries({ right: batchesOf(r), join: () => {} })(batchesOf(l)));
    await expect(run([[5, row(1, '"a"')], [3, row(2, '"b"')]], [[5, pointer(0, 0, 0, '"a"')]])).rejects.toThrow(/left side is not sorted/);
    await expect(run([[9, row(1, '"a"')]], [[5, pointer(0, 0, 0, '"x"')], [2, pointer(0, 1, 0, '"y"')]])).rejects.toThrow(/right side is not sorted/);
  });
});
