import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BufferPool, lineBuffers } from '../../../src/core/io/line-buffers.js';

async function* chunks(bytes: Buffer, cuts: number[]) {
  let from = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length)].sort((a, b) => a - b)) {
    yield bytes.subarray(from, cut);
    from = cut;
  }
  yield bytes.subarray(from);
}

async function lines(bytes: Buffer, cuts: number[] = [], maxLineBytes?: number) {
  const out: Array<[number, string]> = [];
  for await (const { line, buf } of lineBuffers(chunks(bytes, cuts), { name: 'in.jsonl', ...(maxLineBytes ? { maxLineBytes } : {}) })) out.push([line, buf.toString('utf8')]);
  return out;
}

describe('lineBuffers', () => {
  it('splits at newlines, drops a \\r before them and a BOM at the start, keeps a last line without newline', async () => {
    const text = '\uFEFF{"a":1}\r\n\nمصر أولاً 😂\n  \nlast';
    expect(await lines(Buffer.from(text))).toEqual([
      [1, '{"a":1}'],
      [2, ''],
      [3, 'مصر أولاً 😂'],
      [4, '  '],
      [5, 'last'],
    ]);
    expect(await lines(Buffer.from('a\n'))).toEqual([[1, 'a']]);
    expect(await lines(Buffer.alloc(0))).toEqual([]);
  });

  it('gives the same lines however the bytes are cut into chunks', async () => {
    const text = Buffer.from('{"id":"مصر"}\r\n\n' + 'x'.repeat(300) + '\n😂\nend');
    const whole = await lines(text);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: text.length }), { maxLength: 12 }), async (cuts) => {
        expect(await lines(text, cuts)).toEqual(whole);
      }),
    );
  });

  it('refuses a line longer than maxLineBytes, naming the file and line', async () => {
    const text = Buffer.from(`short\n${'y'.repeat(100)}\n`);
    await expect(lines(text, [10, 50], 64)).rejects.toMatchObject({ code: 'E_LINE_TOO_LONG', message: expect.stringMatching(/^in\.jsonl: line 2 is longer than 64 bytes/) });
  });
});

describe('BufferPool', () => {
  it('gives back the buffers it was given, the smallest that fits, and keeps at most `keep`, the larger ones', () => {
    const pool = new BufferPool(2, 1024 * 1024);
    const a = pool.take(100);
    const b = pool.take(300_000);
    const c = pool.take(10);
    expect([a.length, b.length, c.length]).toEqual([100, 300_000, 10]);
    expect(new Set([a.buffer, b.buffer, c.buffer]).size).toBe(3);
    pool.give(a);
    pool.give(b.subarray(5, 50)); // any view of it
    pool.give(c); // full: c is no larger than those kept
    expect(pool.size).toBe(2);
    // (Buffers compared by identity: a failing toBe would print megabytes.)
    expect(pool.take(300_000).buffer === b.buffer).toBe(true);
    expect(pool.take(200).buffer === a.buffer).toBe(true);
    const fresh = pool.take(200).buffer;
    expect(fresh !== a.buffer && fresh !== b.buffer && fresh !== c.buffer).toBe(true);
  });

  it('ignores buffers not its own, given twice, or over its largest size', () => {
    const pool = new BufferPool(4, 512 * 1024);
    pool.give(Buffer.alloc(10));
    const a = pool.take(10);
    pool.give(a);
    pool.give(a);
    expect(pool.size).toBe(1);
    const huge = pool.take(600 * 1024);
    pool.give(huge);
    expect(pool.size).toBe(1);
    // Two takes never share a buffer.
    expect(pool.take(10).buffer === pool.take(10).buffer).toBe(false);
  });
});
