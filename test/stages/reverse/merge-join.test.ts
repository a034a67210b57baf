import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mergeJoin, mergeJoinSync } from '../../../src/stages/reverse/merge-join.js';
import { fromArray, toArray } from '../../helpers/streams.js';

type Row = { id: string; line: number };
type Res = { id: string; n: number };
const byId = <T extends { id: string }>(items: T[]) => [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

describe('mergeJoin', () => {
  it('joins sorted sides with missing and extra ids on both, passing repeated ids as groups', async () => {
    const rows: Row[] = byId([{ id: 'a', line: 1 }, { id: 'b', line: 2 }, { id: 'dup', line: 3 }, { id: 'dup', line: 4 }, { id: 'only-left', line: 5 }]);
    const results: Res[] = byId([{ id: 'a', n: 1 }, { id: 'a', n: 2 }, { id: 'b', n: 3 }, { id: 'dup', n: 4 }, { id: 'only-right', n: 5 }]);
    const groups: Array<{ key: string; lefts: number; rights: number }> = [];
    const joined = await toArray(
      mergeJoin<Row, Res, string>({
        right: fromArray(results),
        leftKey: (r) => r.id,
        rightKey: (r) => r.id,
        join: (key, lefts, rights) => lefts.map((l) => `${key}@${l.line}:${rights.map((r) => r.n).join('+') || 'none'}`),
        onGroup: (g) => groups.push(g),
      })(fromArray(rows)),
    );
    expect(joined).toEqual(['a@1:1+2', 'b@2:3', 'dup@3:4', 'dup@4:4', 'only-left@5:none']);
    expect(groups).toEqual([
      { key: 'a', lefts: 1, rights: 2 },
      { key: 'dup', lefts: 2, rights: 1 },
      { key: 'only-right', lefts: 0, rights: 1 },
    ]);
  });

  it('fails on a side out of order rather than join wrongly', async () => {
    const join = mergeJoin<Row, Res, string>({ right: fromArray([{ id: 'b', n: 1 }, { id: 'a', n: 2 }]), leftKey: (r) => r.id, rightKey: (r) => r.id, join: () => [] });
    await expect(toArray(join(fromArray([{ id: 'a', line: 1 }, { id: 'c', line: 2 }])))).rejects.toThrow(/right side is not sorted/);
  });

  it('matches a nested-loop join, the sync and async drivers alike (numbers as keys too)', async () => {
    const side = fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 40 }).map((ks) => [...ks].sort((a, b) => a - b));
    await fc.assert(
      fc.asyncProperty(side, side, async (lk, rk) => {
        const expected = lk.map((k, i) => `${k}/${i}:${rk.map((r, j) => (r === k ? j : -1)).filter((j) => j >= 0).join(',')}`);
        const options = {
          leftKey: (l: [number, number]) => l[0],
          rightKey: (r: [number, number]) => r[0],
          join: (_k: number, lefts: Array<[number, number]>, rights: Array<[number, number]>) => lefts.map(([k, i]) => `${k}/${i}:${rights.map((r) => r[1]).join(',')}`),
        };
        const left = lk.map((k, i) => [k, i] as [number, number]);
        const right = rk.map((k, j) => [k, j] as [number, number]);
        expect([...mergeJoinSync(left, right, options)]).toEqual(expected);
        expect(await toArray(mergeJoin<[number, number], [number, number], string, number>({ ...options, right: fromArray(right) })(fromArray(left)))).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});
