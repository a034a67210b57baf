import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDecimal, readDecimal, writeDecimal } from '../../../src/core/io/decimal.js';

describe('writeDecimal / readDecimal', () => {
  const edges = [0, 9, 10, 99_999_999, 100_000_000, 100_000_001, 1_000_000_000_000_007, 2 ** 40, 2 ** 52 - 1, Number.MAX_SAFE_INTEGER];

  it('writes every safe integer as String() does, in place, and reads it back', () => {
    const buf = Buffer.alloc(40, 0x78);
    const check = (n: number) => {
      const end = writeDecimal(buf, 3, n);
      expect(buf.toString('latin1', 3, end)).toBe(String(n));
      // Nothing written outside its digits.
      expect(buf[2]).toBe(0x78);
      expect(buf[end]).toBe(0x78);
      expect(readDecimal(buf, 3, end)).toBe(n);
      buf.fill(0x78);
    };
    for (const n of edges) check(n);
    fc.assert(fc.property(fc.maxSafeNat(), (n) => check(n)), { numRuns: 2000 });
    fc.assert(fc.property(fc.nat({ max: 1e9 }), (n) => check(n)), { numRuns: 2000 });
  });

  it('refuses a large number that is no safe integer, rather than write garbage', () => {
    const buf = Buffer.alloc(40);
    for (const n of [Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 1e20, 123456789.5]) expect(() => writeDecimal(buf, 0, n), String(n)).toThrow(/not a safe integer/);
  });

  it('isDecimal accepts plain digit runs readDecimal reads exactly', () => {
    expect(isDecimal(Buffer.from('12345'), 0, 5)).toBe(true);
    expect(isDecimal(Buffer.from('-1'), 0, 2)).toBe(false);
    expect(isDecimal(Buffer.from('1234567890123456'), 0, 16)).toBe(false);
    expect(isDecimal(Buffer.from(''), 0, 0)).toBe(false);
  });
});
