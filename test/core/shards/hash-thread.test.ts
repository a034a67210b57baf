import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HashThread, HELD_BYTES } from '../../../src/core/shards/hash-thread.js';

const sha256 = (chunks: Buffer[]) => {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
};

/** A chunk as LineWriter hands them over (a buffer owning its memory, transferable), or a small pooled one. */
function chunk(bytes: number, owned: boolean): Buffer {
  const data = randomBytes(bytes);
  if (!owned) return Buffer.from(data);
  const own = Buffer.allocUnsafeSlow(Math.max(bytes, Buffer.poolSize + 1)).subarray(0, bytes);
  data.copy(own);
  return own;
}

/** Feeds `chunks` under `key` one by one, the caller overwriting each buffer it gets back (as LineWriter reuses them); resolves with the digest. */
async function hashAll(hasher: HashThread, key: string, chunks: Buffer[]): Promise<string> {
  for (const c of chunks) {
    const sent = Buffer.from(c);
    const back = await hasher.update(key, c);
    expect(back.subarray(0, sent.length).equals(sent)).toBe(true);
    back.fill(0);
  }
  return hasher.digest(key);
}

describe('HashThread', () => {
  it('hashes files up to HELD_BYTES here, without starting the thread, though the caller reuses each chunk', async () => {
    const hasher = new HashThread();
    try {
      const chunks = [chunk(40_000, true), chunk(100, false), chunk(HELD_BYTES - 40_100, true)];
      const expected = sha256(chunks);
      expect(await hashAll(hasher, 'a', chunks)).toBe(expected);
      expect(await hasher.digest('never-written')).toBe(sha256([]));
      expect(hasher.threadStarted).toBe(false);
    } finally {
      await hasher.close();
    }
  });

  it('a file that outgrows HELD_BYTES goes on on the thread: the same sha256, beside a small file still held', async () => {
    const hasher = new HashThread();
    try {
      const big = [chunk(HELD_BYTES - 10, true), chunk(50, false), chunk(HELD_BYTES, true), chunk(300_000, true)];
      const small = [chunk(5_000, false), chunk(7_000, true)];
      const expectedBig = sha256(big);
      const expectedSmall = sha256(small);
      await hasher.update('small', small[0]!);
      expect(await hashAll(hasher, 'big', big)).toBe(expectedBig);
      expect(hasher.threadStarted).toBe(true);
      await hasher.update('small', small[1]!);
      expect(await hasher.digest('small')).toBe(expectedSmall);
    } finally {
      await hasher.close();
    }
  });

  it('updates issued without waiting for each other are hashed in the order they were made', async () => {
    const hasher = new HashThread();
    try {
      const chunks = Array.from({ length: 6 }, (_, i) => chunk(400_000 + i, i % 2 === 0));
      const expected = sha256(chunks);
      await Promise.all(chunks.map((c) => hasher.update('k', c)));
      expect(await hasher.digest('k')).toBe(expected);
    } finally {
      await hasher.close();
    }
  });
});
