import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { setImmediate as turn } from 'node:timers/promises';
import { bufferLines, ReadAhead } from '../../../src/core/io/sync-lines.js';
import { tempDir } from '../../helpers/server.js';

/** The lines, each read before the next (the view is reused). */
function read(file: string, chunk: number | Buffer, range?: { from: number; to: number }) {
  const lines: Array<{ line: number; offset: number; text: string }> = [];
  for (const v of bufferLines(file, chunk, range)) lines.push({ line: v.line, offset: v.offset, text: v.buf.toString('utf8', v.start, v.end) });
  return lines;
}
const withoutNumbers = (lines: ReturnType<typeof read>) => lines.map(({ offset, text }) => ({ offset, text }));

describe('bufferLines', () => {
  it('gives each line exactly once, with its offset, however the file is cut into ranges', async () => {
    const dir = await tempDir('be-lines-');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constant(''), fc.constant('\r'), fc.string({ maxLength: 40 }).map((s) => s.replace(/\n/g, ' ')), fc.constant('مصر أولاً 😂'.repeat(9))), { maxLength: 12 }),
        fc.boolean(),
        fc.array(fc.nat(600), { maxLength: 5 }),
        async (lines, lastNewline, cuts) => {
          const file = path.join(dir, 'lines.txt');
          const text = lines.join('\n') + (lastNewline && lines.length > 0 ? '\n' : '');
          await writeFile(file, text);
          const size = Buffer.byteLength(text);
          const whole = read(file, 16);
          const bounds = [0, ...cuts.filter((c) => c < size).sort((a, b) => a - b), size];
          // A small chunk (lines longer than it) and a reused buffer.
          const pieces = bounds.slice(1).flatMap((to, i) => read(file, i % 2 ? Buffer.alloc(8) : 16, { from: bounds[i]!, to }));
          expect(withoutNumbers(pieces)).toEqual(withoutNumbers(whole));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('numbers the lines of a range from 1 and stops at the first line that starts at or after its end', async () => {
    const dir = await tempDir('be-lines-');
    const file = path.join(dir, 'lines.txt');
    await writeFile(file, 'aa\nbbb\ncc\nd');
    expect(read(file, 4, { from: 1, to: 7 })).toEqual([{ line: 1, offset: 3, text: 'bbb' }]);
    expect(read(file, 4, { from: 3, to: 8 })).toEqual([
      { line: 1, offset: 3, text: 'bbb' },
      { line: 2, offset: 7, text: 'cc' },
    ]);
    expect(read(file, 4, { from: 11, to: 12 })).toEqual([]);
    expect(read(file, 4, { from: 10, to: 12 })).toEqual([{ line: 1, offset: 10, text: 'd' }]);
  });

  it('gives the same lines reading ahead on the thread pool, whether the reads ahead have come or not', async () => {
    const dir = await tempDir('be-lines-');
    const file = path.join(dir, 'big.txt');
    // ~5 MiB: several blocks read ahead, lines across their ends.
    const lines = Array.from({ length: 30_000 }, (_, i) => `${i} ${'مصر أولاً '.repeat(i % 23)}`);
    await writeFile(file, `${lines.join('\n')}\n`);
    const whole = read(file, 1 << 20);
    for (const every of [1, 50, 5000]) {
      const got: Array<{ offset: number; text: string }> = [];
      let n = 0;
      for (const v of bufferLines(file, 1 << 20, undefined, new ReadAhead().read)) {
        got.push({ offset: v.offset, text: v.buf.toString('utf8', v.start, v.end) });
        // The event loop turns now and then, as the merge's does when it writes.
        if (++n % every === 0) await turn();
      }
      expect(got).toEqual(withoutNumbers(whole));
    }
  });
});
