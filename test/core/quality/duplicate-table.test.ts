import { describe, expect, it } from 'vitest';
import { DUPLICATE_SLOT_BYTES, DuplicateTable, UNTRACKED } from '../../../src/core/quality/duplicate-table.js';
import { duplicateHash } from '../../../src/core/quality/quality.js';

describe('DuplicateTable', () => {
  it('counts texts and remembers the first row of each', () => {
    const t = new DuplicateTable(1 << 20);
    expect(t.add(duplicateHash('a'), 100, 0)).toBe(1);
    expect(t.add(duplicateHash('b'), 200, 4)).toBe(1);
    expect(t.add(duplicateHash('a'), 300, 2)).toBe(2);
    expect(t.firstRef(t.lastEntry)).toBe(100);
    expect(t.firstFlags(t.lastEntry)).toBe(0);
    expect(t.add(duplicateHash('a'), 400, 0)).toBe(3);
    expect(t.add(duplicateHash('b'), 500, 0)).toBe(2);
    expect(t.firstFlags(t.lastEntry)).toBe(4);
    expect(t.distinct).toBe(2);
    expect(t.duplicateStats()).toEqual({ groups: 2, rows: 5 });
  });

  it('keeps hash 0 and colliding slots apart (linear probing)', () => {
    const t = new DuplicateTable(1 << 20);
    const slots = t.slots;
    // Three hashes that land on the same slot, one of them 0.
    const hashes = [0, slots, 2 * slots];
    for (const [i, h] of hashes.entries()) expect(t.add(h, i, 0)).toBe(1);
    for (const [i, h] of hashes.entries()) {
      expect(t.add(h, 99, 0)).toBe(2);
      expect(t.firstRef(t.lastEntry)).toBe(i);
    }
  });

  it('keeps references up to 2^40 (byte offsets of a 1 TB file) and refuses larger ones', () => {
    const t = new DuplicateTable(1 << 20);
    t.add(7, 2 ** 40 - 1, 0);
    expect(t.add(7, 0, 0)).toBe(2);
    expect(t.firstRef(t.lastEntry)).toBe(2 ** 40 - 1);
    expect(() => t.add(8, 2 ** 40, 0)).toThrow(RangeError);
  });

  it('a probe longer than 255 slots is not followed: the text is counted as untracked', () => {
    const t = new DuplicateTable(1024 * DUPLICATE_SLOT_BYTES);
    // 300 hashes with the same home slot.
    const counts = Array.from({ length: 300 }, (_, k) => t.add(k * t.slots, k, 0));
    expect(counts.filter((c) => c === 1)).toHaveLength(255);
    expect(t.untracked).toBe(45);
    expect(t.add(3 * t.slots, 0, 0)).toBe(2);
  });

  it('lists the most repeated texts, most first, ties by first row', () => {
    const t = new DuplicateTable(1 << 20);
    const texts = ['x', 'y', 'y', 'z', 'z', 'z', 'w', 'w', 'v', 'v', 'v'];
    texts.forEach((s, i) => t.add(duplicateHash(s), i, 0));
    expect(t.top(3).map((e) => [t.count(e), t.firstRef(e)])).toEqual([[3, 3], [3, 8], [2, 1]]);
    expect(t.top(10)).toHaveLength(4); // x is seen once: not listed
  });

  it('stops adding new texts at 75% of its slots, counts them, and keeps counting the others', () => {
    const t = new DuplicateTable(1024 * DUPLICATE_SLOT_BYTES);
    expect(t.slots).toBe(1024);
    for (let i = 0; i < 768; i++) expect(t.add(duplicateHash(`t${i}`), i, 0)).toBe(1);
    expect(t.full).toBe(true);
    expect(t.add(duplicateHash('new'), 1000, 0)).toBe(UNTRACKED);
    expect(t.add(duplicateHash('t5'), 1001, 0)).toBe(2);
    expect(t.untracked).toBe(1);
  });

  it('takes the largest power of two of slots that fits its memory, and refuses less than 1024 slots', () => {
    expect(new DuplicateTable(64 * 1024 * 1024).slots).toBe(2 ** 21);
    expect(() => new DuplicateTable(100)).toThrow(/option duplicateMemory: expected a byte count/);
  });
});
