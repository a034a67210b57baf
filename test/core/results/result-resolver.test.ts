import { readdirSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFailure } from '../../../src/core/results/result-batch.js';
import { ResultResolver } from '../../../src/core/results/result-resolver.js';
import { explained, httpErrorLine, okLine } from '../../helpers/results.js';

interface Frame {
  row: number;
  /** The line of the file pointed to (its index). */
  line: number;
  order?: number;
}

/** Writes `lines` with `eol`, resolves `frames` (in file order) in batches of `perBatch`, and reads the outcome lines back, by row. */
async function resolve(lines: string[], frames: Frame[], options: { eol?: string; perBatch?: number; lastNewline?: boolean; offsets?: (offsets: number[]) => number[]; into?: Buffer } = {}) {
  const dir = await mkdtemp(path.join(tmpdir(), 'resolver-'));
  const file = path.join(dir, 'out.jsonl');
  const eol = options.eol ?? '\n';
  let text = lines.join(eol);
  if (options.lastNewline !== false) text += eol;
  await writeFile(file, text);
  let offsets: number[] = [];
  for (let at = 0, i = 0; i < lines.length; i++) {
    offsets.push(at);
    at += Buffer.byteLength(lines[i]!) + Buffer.byteLength(eol);
  }
  offsets = options.offsets?.(offsets) ?? offsets;
  const resolver = new ResultResolver({ sources: [file] });
  let bad = 0;
  const outcomes: Array<{ row: number; payload: string }> = [];
  const outs: Buffer[] = [];
  const perBatch = options.perBatch ?? frames.length;
  for (let i = 0; i < frames.length; i += perBatch) {
    const batch = Buffer.from(
      frames
        .slice(i, i + perBatch)
        .map((f) => `0\t${offsets[f.line]}\t${f.row}${f.order !== undefined ? `\t${f.order}` : ''}\n`)
        .join(''),
    );
    const { out, bad: b } = resolver.resolve(batch, batch.length, options.into);
    outs.push(out);
    bad += b;
    for (const line of out.toString('utf8').split('\n').slice(0, -1)) {
      const tab = line.indexOf('\t');
      outcomes.push({ row: Number(line.slice(0, tab)), payload: line.slice(tab + 1) });
    }
  }
  return { bad, outcomes: outcomes.sort((a, b) => a.row - b.row), outs };
}

const failureOf = (payload: string) => readFailure(Buffer.from(payload), payload.indexOf('!'), Buffer.byteLength(payload));

describe('the result resolver', () => {
  it('reads the result lines it is pointed to, as outcome lines: explanations, failures, candidates', async () => {
    const lines = [okLine('a', explained('شرح\t"x"')), okLine('unused', explained('no')), httpErrorLine('b', 500, 'server_error', 'boom'), '{"damaged', okLine('c', explained('c'))];
    const { bad, outcomes } = await resolve(lines, [
      { row: 7, line: 0 },
      { row: 3, line: 2, order: 2_000_000_003 },
      { row: 9, line: 3 },
      { row: 3, line: 4, order: 2_000_000_005 },
    ]);
    expect(bad).toBe(1);
    expect(outcomes.map((o) => o.row)).toEqual([3, 3, 7, 9]);
    const [error, candidate, ok, damaged] = outcomes;
    expect(error!.payload.startsWith('*2000000003\t!')).toBe(true);
    expect(failureOf(error!.payload)).toMatchObject({ id: 'b', reason: 'api_error', code: 'server_error' });
    expect(candidate!.payload).toBe(`*2000000005\t${JSON.stringify('c')}`);
    expect(ok!.payload).toBe(JSON.stringify('شرح\t"x"'));
    const damagedAt = lines.slice(0, 3).reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0);
    expect(failureOf(damaged!.payload).message).toMatch(new RegExp(`^its result line is damaged \\(not JSON .*\\) at .*/out\\.jsonl at byte ${damagedAt}$`));
  });

  it('reads CRLF lines, a last line with no newline, and lines longer than one read, across batches', async () => {
    const long = 'long '.repeat(40_000).trim();
    const lines = [okLine('a', explained('one')), okLine('b', explained(long)), okLine('c', explained('three'))];
    for (const eol of ['\n', '\r\n']) {
      const { bad, outcomes } = await resolve(lines, [{ row: 1, line: 0 }, { row: 2, line: 1 }, { row: 3, line: 2 }], { eol, perBatch: 2, lastNewline: false });
      expect(bad).toBe(0);
      expect(outcomes.map((o) => JSON.parse(o.payload))).toEqual(['one', long, 'three']);
    }
  });

  it('says a line is gone when the file no longer has a line at its offset', async () => {
    const lines = [okLine('a', explained('one')), okLine('b', explained('two'))];
    // The second pointer lands inside a line, the third past the end of the file.
    const { bad, outcomes } = await resolve(lines, [{ row: 1, line: 0 }, { row: 2, line: 1 }, { row: 3, line: 2 }], { offsets: (o) => [o[0]!, o[1]! + 5, 10_000] });
    expect(bad).toBe(2);
    expect(JSON.parse(outcomes[0]!.payload)).toBe('one');
    for (const o of outcomes.slice(1)) expect(failureOf(o.payload).message).toMatch(/its result line is gone from .*out\.jsonl at byte \d+ \(was the file changed during the merge\?\)/);
  });

  it('holds no file open between batches (a thread is ended without being told)', async () => {
    const openFiles = () => readdirSync('/proc/self/fd').length;
    const before = openFiles();
    const { outcomes } = await resolve([okLine('a', explained('one')), okLine('b', explained('two'))], [{ row: 1, line: 0 }, { row: 2, line: 1 }], { perBatch: 1 });
    expect(outcomes).toHaveLength(2);
    expect(openFiles()).toBe(before);
  });

  it('fills a buffer given to reuse, and grows past it when it is too small', async () => {
    const into = Buffer.alloc(8192);
    const small = await resolve([okLine('a', explained('short'))], [{ row: 1, line: 0 }], { into });
    expect(small.outs[0]!.buffer).toBe(into.buffer);
    const many = Array.from({ length: 40 }, (_, i) => okLine(`r${i}`, explained('long '.repeat(100))));
    const grown = await resolve(many, many.map((_, i) => ({ row: i, line: i })), { into });
    expect(grown.outs[0]!.buffer).not.toBe(into.buffer);
    expect(grown.outcomes).toHaveLength(40);
  });
});
