import { describe, expect, it } from 'vitest';
import { readAhead } from '../../../src/core/flow/read-ahead.js';

describe('readAhead', () => {
  it('lets the source run to its end while the consumer is slow, items in order', async () => {
    let produced = 0;
    async function* source() {
      for (let i = 0; i < 5; i++) {
        produced++;
        yield i;
      }
    }
    const out: number[] = [];
    for await (const x of readAhead(source())) {
      // By the first item taken slowly, the source has made every item.
      await new Promise((r) => setTimeout(r, 10));
      if (out.length === 0) expect(produced).toBe(5);
      out.push(x);
    }
    expect(out).toEqual([0, 1, 2, 3, 4]);
  });

  it("throws the source's failure after the items made before it", async () => {
    async function* source() {
      yield 1;
      yield 2;
      throw new Error('disk full');
    }
    const out: number[] = [];
    await expect(
      (async () => {
        for await (const x of readAhead(source())) out.push(x);
      })(),
    ).rejects.toThrow('disk full');
    expect(out).toEqual([1, 2]);
  });
});
