import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BASE64_SLICE_BYTES, LineWriter, segmentsToString } from '../../src/core/line-writer.js';
import type { DataUri } from '../../src/types.js';

function randomBytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  return b;
}

async function writeAll(lines: Array<Array<string | DataUri>>, chunkBytes: number) {
  const chunks: Buffer[] = [];
  const writer = new LineWriter(chunkBytes);
  // Copy: the writer reuses its buffers once the sink resolves.
  writer.start(async (chunk) => void chunks.push(Buffer.from(chunk)));
  for (const segments of lines) await writer.writeLine(segments);
  const result = await writer.finish();
  return { out: Buffer.concat(chunks), result };
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
    const { out, result } = await writeAll(lines, chunkBytes);
    expect(out.equals(expected)).toBe(true);
    expect(result.bytes).toBe(expected.length);
    expect(result.sha256).toBe(createHash('sha256').update(expected).digest('hex'));
  });

  it('never hands the sink more than one chunk at a time and waits for it', async () => {
    let inflight = 0;
    let maxInflight = 0;
    const writer = new LineWriter(200_000);
    const seen: Buffer[] = [];
    writer.start(async (chunk) => {
      inflight++;
      maxInflight = Math.max(maxInflight, inflight);
      const copy = Buffer.from(chunk);
      await new Promise((r) => setTimeout(r, 2));
      // The chunk must still hold what it held when handed over.
      expect(chunk.equals(copy)).toBe(true);
      seen.push(copy);
      inflight--;
    });
    for (const l of lines) await writer.writeLine(l);
    await writer.finish();
    expect(maxInflight).toBe(1);
    expect(Buffer.concat(seen).equals(expected)).toBe(true);
  });

  it('surfaces a sink failure', async () => {
    const writer = new LineWriter(200_000);
    writer.start(async () => {
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    });
    await expect(
      (async () => {
        for (const l of lines) await writer.writeLine(l);
        await writer.finish();
      })(),
    ).rejects.toThrow(/no space/);
  });
});
