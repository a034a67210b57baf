import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { integerOrder } from '../../../src/core/sort/radix-order.js';

/** The order a stable comparison sort gives. */
const compareOrder = (keys: number[]) => keys.map((_, i) => i).sort((a, b) => keys[a]! - keys[b]! || a - b);

describe('integerOrder', () => {
  it('matches a stable comparison sort on small and wide integers, negatives and ties', () => {
    const key = fc.oneof(fc.integer({ min: -50, max: 50 }), fc.integer(), fc.maxSafeInteger().map((k) => Math.floor(k / 2)), fc.constant(2 ** 32), fc.constant(2 ** 32 - 1));
    fc.assert(
      fc.property(fc.array(key, { maxLength: 300 }), (keys) => {
        expect(Array.from(integerOrder(keys.length, (i) => keys[i]!)!)).toEqual(compareOrder(keys));
      }),
      { numRuns: 300 },
    );
  });

  it('sorts a million shuffled line numbers', () => {
    const n = 1_000_000;
    const keys = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = (i * 7919 + 13) % (i + 1);
      [keys[i], keys[j]] = [keys[j]!, keys[i]!];
    }
    const order = integerOrder(keys.length, (i) => keys[i]!)!;
    for (let i = 0; i < n; i++) if (keys[order[i]!] !== i) throw new Error(`position ${i} holds ${keys[order[i]!]}`);
  });

  it('gives up on fractions and spans past 2^53, so the caller compares instead', () => {
    const order = (keys: number[]) => integerOrder(keys.length, (i) => keys[i]!);
    expect(order([1, 2.5, 3])).toBeNull();
    expect(order([-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER])).toBeNull();
    expect(Array.from(order([])!)).toEqual([]);
    expect(Array.from(order([5, 5, 5])!)).toEqual([0, 1, 2]);
  });
});
