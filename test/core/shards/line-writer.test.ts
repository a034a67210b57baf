import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BASE64_SLICE_BYTES, LineWriter, segmentsToString } from '../../../src/core/shards/line-writer.js';
import type { ShardTarget } from '../../../src/core/shards/shard-file.js';
import type { DataUri } from '../../../src/types.js';

function randomBytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  return b;
}

/** A target that records what it gets, optionally slowly, and checks a chunk is not changed while it holds it. */
function recordingTarget(options: { delayMs?: number; fail?: boolean } = {}) {
  const chunks: Buffer[] = [];
  let inflight = 0;
  let peak = 0;
  const target: ShardTarget = {
    path: 'memory',
    async write(chunk) {
      if (options.fail) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      peak = Math.max(peak, ++inflight);
      const copy = Buffer.from(chunk);
      if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
      expect(chunk.equals(copy)).toBe(true);
      chunks.push(copy);
      inflight--;
      return chunk;
    },
    async finish() {
      const all = Buffer.concat(chunks);
      return { bytes: all.length, sha256: createHash('sha256').update(all).digest('hex') };
    },
    async commit() {},
    async discard() {},
  };
  return { target, chunks, peak: () => peak };
}

describe('LineWriter', () => {
  const image = (n: number, seed = 3): DataUri => ({ mime: 'image/jpeg', data: randomBytes(n, seed) });
  const lines: Array<Array<string | DataUri>> = [
    ['{"a":"', image(10), '"}'],
    ['{"big":"', image(BASE64_SLICE_BYTES * 5 + 7, 4), '","t":"نص عربي 😀"}'],
    ['x'.repeat(3_000_000) + 'ع'.repeat(500_000)],
    ['{"empty":""}'],
    ['{"edge":"', image(BASE64_SLICE_BYTES, 5), '","e2":"', image(BASE64_SLICE_BYTES + 1, 6), '"}'],
  ];
  const expected = Buffer.from(lines.map((l) => `${segmentsToString(l)}\n`).join(''), 'utf8');

  it.each([1 << 20, 200_000, 128_001])('writes exactly the joined lines with chunks of %i bytes', async (chunkBytes) => {
    const { target, chunks } = recordingTarget();
    const writer = new LineWriter(chunkBytes);
    writer.start(target);
    for (const l of lines) await writer.writeLine(l);
    const result = await writer.finish();
    expect(Buffer.concat(chunks).equals(expected)).toBe(true);
    expect(result).toEqual({ bytes: expected.length, sha256: createHash('sha256').update(expected).digest('hex') });
  });

  it('keeps at most its chunk count in flight with a slow target, and never reuses a chunk still held', async () => {
    const { target, chunks, peak } = recordingTarget({ delayMs: 3 });
    const writer = new LineWriter(200_000, 3);
    writer.start(target);
    for (const l of lines) await writer.writeLine(l);
    await writer.finish();
    expect(Buffer.concat(chunks).equals(expected)).toBe(true);
    // Three chunks circulate: one being filled, at most two in flight, plus one oversized text.
    expect(peak()).toBeLessThanOrEqual(3);
    expect(peak()).toBeGreaterThan(1);
  });

  it('surfaces a target failure', async () => {
    const { target } = recordingTarget({ fail: true });
    const writer = new LineWriter(200_000);
    writer.start(target);
    await expect(
      (async () => {
        for (const l of lines) await writer.writeLine(l);
        await writer.finish();
      })(),
    ).rejects.toThrow(/no space/);
  });
});
