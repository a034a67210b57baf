import { describe, expect, it } from 'vitest';
import { frameResultLine, parseResultBatch, readFailure } from '../../../src/core/results/result-batch.js';
import { explained, httpErrorLine, okLine } from '../../helpers/results.js';

/** Frames lines as the merge does, parses the batch, and splits the outcome lines. */
function roundTrip(lines: Array<{ row: number; order: number | null; text: string }>, into?: Buffer) {
  const batch = Buffer.alloc(64 * 1024);
  let used = 0;
  for (const [i, l] of lines.entries()) {
    const bytes = Buffer.from(`junk${l.text}junk`);
    used += frameResultLine(batch, used, l.row, 0, 1000 + i, l.order, bytes, 4, bytes.length - 4);
  }
  const { out, bad } = parseResultBatch(batch, used, ['results/a.jsonl'], undefined, into);
  return { lines: out.toString('utf8').split('\n').slice(0, -1), bad, out };
}

describe('result batches', () => {
  it('turn framed result lines into outcome lines: explanation literals, failures, candidates', () => {
    const { lines, bad } = roundTrip([
      { row: 7, order: null, text: okLine('a', explained('شرح\t"x"')) },
      { row: 3, order: 2_000_000_001, text: httpErrorLine('b', 500, 'server_error', 'boom') },
      { row: 9, order: null, text: '{"damaged' },
    ]);
    expect(bad).toBe(1);
    expect(lines[0]).toBe(`7\t${JSON.stringify('شرح\t"x"')}`);
    expect(lines[1]!.startsWith('3\t*2000000001\t!')).toBe(true);
    const failure = Buffer.from(lines[1]!);
    const start = failure.indexOf('!');
    expect(readFailure(failure, start, failure.length)).toMatchObject({ id: 'b', reason: 'api_error', code: 'server_error' });
    expect(readFailure(Buffer.from(lines[2]!), lines[2]!.indexOf('!'), Buffer.byteLength(lines[2]!)).message).toMatch(/damaged .* results\/a\.jsonl at byte 1002/);
  });

  it('fill a buffer given to reuse, and grow past it when it is too small', () => {
    const into = Buffer.alloc(8192);
    const small = roundTrip([{ row: 1, order: null, text: okLine('a', explained('short')) }], into);
    expect(small.out.buffer).toBe(into.buffer);
    const many = Array.from({ length: 40 }, (_, i) => ({ row: i, order: null, text: okLine(`r${i}`, explained('long '.repeat(100))) }));
    const grown = roundTrip(many, into);
    expect(grown.out.buffer).not.toBe(into.buffer);
    expect(grown.lines).toHaveLength(40);
  });

  it('refuse to frame a line that does not fit', () => {
    const bytes = Buffer.from(okLine('a', explained('x')));
    expect(frameResultLine(Buffer.alloc(16), 0, 1, 0, 0, null, bytes, 0, bytes.length)).toBe(-1);
  });
});
