import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdTable, idHashes, NOT_FOUND } from '../../../src/core/join/id-table.js';

const hashesOf = (text: string) => {
  const into = { key: 0, check: 0 };
  const bytes = Buffer.from(JSON.stringify(text));
  idHashes(bytes, 0, bytes.length, into);
  return into;
};

describe('IdTable', () => {
  it('finds each id it holds, refuses a repeated key, tells a key with another check apart, and keeps its entries when grown', () => {
    let table = new IdTable(4);
    const ids = Array.from({ length: 1000 }, (_, i) => `data/img-${i}.jpg`);
    ids.forEach((id, i) => {
      if (!table.roomy) table = table.grown(table.slots * 2);
      const h = hashesOf(id);
      expect(table.insert(h.key, h.check, i + 1)).toBe(0);
    });
    expect(table.size).toBe(1000);
    // 1,000 entries: at most 70% of 2,048 slots.
    expect(table.slots).toBe(2048);
    ids.forEach((id, i) => expect(table.find(hashesOf(id).key, hashesOf(id).check)).toBe(i + 1));
    expect(table.find(hashesOf('not there').key, hashesOf('not there').check)).toBe(NOT_FOUND);
    const first = hashesOf(ids[0]!);
    // The same key again (a repeated id, or a collision): the line already there.
    expect(table.insert(first.key, first.check ^ 1, 5000)).toBe(1);
    // The key of a row with another check: another id.
    expect(table.find(first.key, first.check ^ 1)).toBe(NOT_FOUND);
    // Another thread's view of the same memory.
    const view = IdTable.over(table.memory);
    expect(view.find(first.key, first.check)).toBe(1);
  });

  it('adds a chunk of entries at once: stops at a repeated key, or where the table is full', () => {
    const keys = Float64Array.from([11, 22, 33, 44, 22, 55]);
    const checks = Int32Array.from([1, 2, 3, 4, 5, 6]);
    const rels = Int32Array.from([1, 2, 4, 5, 6, 7]);
    let table = new IdTable(8);
    // 70% of 8 slots: 5 entries fit; the fifth is a repeat of the second.
    expect(table.insertMany(keys, checks, rels, 0, 6, 100)).toBe(4);
    expect(table.repeated).toBe(true);
    expect([11, 22, 33, 44].map((k, i) => table.find(k, i + 1))).toEqual([101, 102, 104, 105]);
    table = new IdTable(4);
    expect(table.insertMany(keys, checks, rels, 0, 6, 0)).toBe(2);
    expect(table.repeated).toBe(false);
    table = table.grown(16);
    expect(table.insertMany(keys, checks, rels, 2, 4, 0)).toBe(4);
    expect(table.size).toBe(4);
    expect(table.find(44, 4)).toBe(5);
  });

  it('refuses to fill past 70% of its slots, and a size that is not a power of 2', () => {
    const table = new IdTable(8);
    for (let k = 1; k <= 5; k++) table.insert(k, k, k);
    expect(table.roomy).toBe(false);
    expect(() => table.insert(6, 6, 6)).toThrow(/full/);
    expect(() => new IdTable(6)).toThrow(/power of 2/);
  });

  it('hashes the bytes of a range alone, whatever their place and length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat(9), fc.nat(9), (bytes, before, after) => {
        const padded = new Uint8Array(before + bytes.length + after).fill(0x41);
        padded.set(bytes, before);
        const a = { key: 0, check: 0 };
        const b = { key: 0, check: 0 };
        idHashes(bytes, 0, bytes.length, a);
        idHashes(padded, before, before + bytes.length, b);
        expect(b).toEqual(a);
        expect(Number.isSafeInteger(a.key) && a.key >= 0 && a.key < 2 ** 52).toBe(true);
      }),
    );
    // A million distinct ids, no two keys alike (52 bits: a collision has odds of about 1 in 10,000).
    const keys = new Set<number>();
    const checks = new Set<number>();
    const into = { key: 0, check: 0 };
    for (let i = 0; i < 1_000_000; i++) {
      const bytes = Buffer.from(`"data/arabic_memes/IMAGES/user${i % 977}/2021-02-27_${i}_UTC.jpg"`);
      idHashes(bytes, 0, bytes.length, into);
      keys.add(into.key);
      checks.add(into.check);
    }
    expect(keys.size).toBe(1_000_000);
    // 32 bits: about 116 collisions expected among a million.
    expect(checks.size).toBeGreaterThan(999_500);
  });
});
