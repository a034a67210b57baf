import { describe, expect, it } from 'vitest';
import { ResultResolvePool } from '../../../src/core/results/result-resolve-pool.js';

describe('ResultResolvePool', () => {
  it('keeps sixteen batches per thread under way, bounded in all however many threads there are', async () => {
    const capacity = async (threads: number) => {
      const pool = new ResultResolvePool({ threads, sources: [], batchBytes: 1024 });
      try {
        return pool.capacity;
      } finally {
        await pool.close();
      }
    };
    expect(await capacity(0)).toBe(1);
    expect(await capacity(1)).toBe(16);
    expect(await capacity(2)).toBe(32);
    // Not 16 × 4: the answers under way stay within ~8 MiB.
    expect(await capacity(4)).toBe(32);
    expect(await capacity(20)).toBe(40);
  });
});
