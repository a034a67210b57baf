import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveResults } from '../../../src/stages/reverse/resolve-results.js';
import type { EntryBatch } from '../../../src/core/sort/entry-batch.js';
import { batchesOf, entriesOf } from '../../helpers/entry-batches.js';
import { readFailure } from '../../../src/core/results/result-batch.js';
import { explained, httpErrorLine, okLine } from '../../helpers/results.js';
import { tempDir } from '../../helpers/server.js';

/** Writes result lines; returns the file and each line's offset. */
async function resultFile(dir: string, name: string, lines: string[]): Promise<{ file: string; offsets: number[] }> {
  const file = path.join(dir, name);
  await writeFile(file, `${lines.join('\n')}\n`);
  const offsets: number[] = [];
  for (let at = 0, i = 0; i < lines.length; i++) {
    offsets.push(at);
    at += Buffer.byteLength(lines[i]!) + 1;
  }
  return { file, offsets };
}

/** `<key>\t<payload>` lines as entries, in small batches. */
const joinedBatches = (lines: string[], bytes = 200) => batchesOf(lines.map((l) => [Number(l.slice(0, l.indexOf('\t'))), l.slice(l.indexOf('\t') + 1)] as [number, string]), bytes);

/** The outcomes, by row (a row may have several). */
async function outcomesOf(batches: AsyncIterable<EntryBatch>): Promise<Map<number, string[]>> {
  const byRow = new Map<number, string[]>();
  for (const [row, payload] of await entriesOf(batches)) byRow.set(row, [...(byRow.get(row) ?? []), payload].sort());
  return byRow;
}

const pointer = (src: number, offset: number) => src * 2 ** 40 + offset;

describe('resolveResults', () => {
  it('reads and parses the result lines pointed to, in batches across files and spans, on threads or here alike; rows with no result pass through', async () => {
    const dir = await tempDir('be-resolve-');
    // 3000 lines of ~300 bytes: more than one span of a file per batch.
    const many = await resultFile(dir, 'a.jsonl', Array.from({ length: 3000 }, (_, i) => okLine(`row-${i}`, explained(`شرح ${i} ${'x'.repeat(200)}`))));
    const few = await resultFile(dir, 'b.jsonl', [httpErrorLine('row-e', 500, 'server_error', 'boom'), '{"damaged', okLine('row-new', explained('newer')), okLine('row-old', explained('older'))]);
    const joined = [
      `-1\t3001\t!${JSON.stringify(['row-x', 'no_result', null, 'no result line for this id'])}`,
      ...many.offsets.map((offset, i) => `${pointer(0, offset)}\t${i}`),
      `${pointer(1, few.offsets[0]!)}\t3002`,
      `${pointer(1, few.offsets[1]!)}\t3003`,
      // Two results for one row: each read, with its order.
      `${pointer(1, few.offsets[2]!)}\t3004\t9`,
      `${pointer(1, few.offsets[3]!)}\t3004\t2`,
      // An offset inside a line: its line is gone (the file changed).
      `${pointer(1, few.offsets[3]! + 3)}\t3005`,
    ];
    const runs: Array<{ outcomes: Map<number, string[]>; bad: number }> = [];
    for (const threads of [0, 1, 2]) {
      let bad = 0;
      const outcomes = await outcomesOf(resolveResults({ sources: [many.file, few.file], threads, onBadLines: (n) => (bad += n) })(joinedBatches(joined)));
      runs.push({ outcomes, bad });
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
    const { outcomes, bad } = runs[0]!;
    expect(bad).toBe(2);
    expect(outcomes.size).toBe(3005);
    for (let i = 0; i < 3000; i++) expect(outcomes.get(i), `row ${i}`).toEqual([JSON.stringify(`شرح ${i} ${'x'.repeat(200)}`)]);
    const failure = (row: number) => {
      const payload = outcomes.get(row)![0]!;
      return readFailure(Buffer.from(payload), 0, Buffer.byteLength(payload));
    };
    expect(failure(3001)).toMatchObject({ id: 'row-x', reason: 'no_result' });
    expect(failure(3002)).toMatchObject({ id: 'row-e', code: 'server_error' });
    expect(failure(3003)).toMatchObject({ reason: 'no_result', message: expect.stringMatching(/damaged/) });
    expect(outcomes.get(3004)).toEqual([`*2\t${JSON.stringify('older')}`, `*9\t${JSON.stringify('newer')}`]);
    expect(failure(3005).message).toMatch(/its result line is gone from .*b\.jsonl at byte \d+ \(was the file changed during the merge\?\)/);
  });

  it('ends its threads when the consumer stops early, and fails when stopped', async () => {
    const dir = await tempDir('be-resolve-');
    const many = await resultFile(dir, 'a.jsonl', Array.from({ length: 2000 }, (_, i) => okLine(`row-${i}`, explained(`e${i}`))));
    const joined = many.offsets.map((offset, i) => `${pointer(0, offset)}\t${i}`);
    // A thread's port is an active resource of this process while the thread runs.
    const ports = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
    const before = ports();
    const early = resolveResults({ sources: [many.file], threads: 2 })(joinedBatches(joined, 100));
    await early.next();
    expect(ports()).toBe(before + 2);
    await early.return(undefined);
    expect(ports()).toBe(before);
    const stop = new AbortController();
    const stage = resolveResults({ sources: [many.file], threads: 1 })(joinedBatches(joined, 100), { signal: stop.signal });
    await stage.next();
    stop.abort(new Error('stopped'));
    await expect(outcomesOf(stage)).rejects.toThrow('stopped');
    expect(ports()).toBe(before);
  });
});
