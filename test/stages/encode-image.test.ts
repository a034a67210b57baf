import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodeImage } from '../../src/stages/encode-image.js';
import type { FileReadResult } from '../../src/core/io/file-reader.js';
import { collect, fromArray, rejectsCollector } from '../helpers/streams.js';
import type { DataUri, DatasetRow, ResolvedImage } from '../../src/types.js';

const images = fileURLToPath(new URL('../../fixtures/images/', import.meta.url));

async function row(line: number, file: string): Promise<DatasetRow & ResolvedImage> {
  const imageFile = path.isAbsolute(file) ? file : path.join(images, file);
  const imageBytes = await stat(imageFile).then((s) => s.size, () => 1);
  return { line, id: `r${line}`, imgPath: file, label: 'hateful', imageFile, imageBytes };
}
const rows = (files: string[]) => Promise.all(files.map((f, i) => row(i + 1, f)));
const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

describe('encodeImage', () => {
  it('sniffs the MIME type from the bytes and keeps the bytes as they are, in input order', async () => {
    const files = ['noisy-photo.jpg', 'face.png', 'bubble.webp', 'chart.gif', 'screenshot.jpg', 'banner.jpg'];
    const out = await collect((onReject) => encodeImage({ onReject, concurrency: 3, readers: 2 }), await rows(files));
    expect(out.rejects).toEqual([]);
    const images = out.rows.map((r) => r.image as DataUri);
    expect(images.map((i) => i.mime)).toEqual(['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/png', 'image/jpeg']);
    for (const [i, r] of out.rows.entries()) expect(images[i]!.data.equals(await readFile(r.imageFile))).toBe(true);
    expect(out.rows.map((r) => r.line)).toEqual([1, 2, 3, 4, 5, 6]);
    // The size in px, from each header, for token estimates.
    expect(images.map((i) => [i.width, i.height])).toEqual([[160, 120], [64, 64], [80, 60], [60, 40], [64, 64], [96, 64]]);
  });

  it('rejects files that lie about being images, empty, truncated or too large, naming the file', async () => {
    const files = ['icon.bmp', 'not-an-image.png', 'empty.png', 'truncated.jpg', 'noisy-photo.jpg', 'face.png', 'gone.png'];
    const out = await collect((onReject) => encodeImage({ onReject, maxImageBytes: 10_000, file: 'd.jsonl' }), await rows(files));
    expect(out.rows.map((r) => r.line)).toEqual([6]);
    expect(out.rejects.map((r) => [r.line, r.code])).toEqual([
      [1, 'E_IMAGE_FORMAT'],
      [2, 'E_IMAGE_FORMAT'],
      [3, 'E_IMAGE_EMPTY'],
      [4, 'E_IMAGE_TRUNCATED'],
      [5, 'E_IMAGE_TOO_LARGE'],
      [7, 'E_IMAGE_NOT_FOUND'],
    ]);
    expect(out.rejects[4]).toMatchObject({ file: 'd.jsonl', stage: 'encodeImage', message: expect.stringMatching(/noisy-photo\.jpg is 16154 bytes, over --max-image-bytes 10000/) });
  });

  it('catches a file that changed after it was looked at (grown past the limit, emptied)', async () => {
    const grown = { ...(await row(1, 'noisy-photo.jpg')), imageBytes: 100 };
    const out = await collect((onReject) => encodeImage({ onReject, maxImageBytes: 10_000 }), [grown]);
    expect(out.rejects.map((r) => r.code)).toEqual(['E_IMAGE_TOO_LARGE']);
  });

  /** Reads a stalled consumer lets the stage request, with reads observed through `readFile`. */
  async function readsAhead(maxBytesInFlight: number): Promise<number> {
    const input = await rows(Array.from({ length: 20 }, () => 'noisy-photo.jpg')); // 16,154 bytes each
    const data = await readFile(path.join(images, 'noisy-photo.jpg'));
    let reads = 0;
    const readFileSpy = async (): Promise<FileReadResult> => {
      reads++;
      return { ok: true, data };
    };
    const { onReject } = rejectsCollector();
    const iterator = encodeImage({ onReject, concurrency: 8, maxBytesInFlight, readFile: readFileSpy })(fromArray(input))[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.line).toBe(1);
    await settle();
    const seen = reads;
    await iterator.return?.(undefined);
    return seen;
  }

  it('bounds the bytes read ahead of a stalled consumer (control: a large budget reads further)', async () => {
    // 40,000 bytes hold two 16 KB images: row 1 was handed over, rows 2-3 are read ahead.
    expect(await readsAhead(40_000)).toBe(3);
    // Control: the same stall with a large budget reads as far as the concurrency (8) allows.
    expect(await readsAhead(1 << 30)).toBe(8);
  });

  it('stops cleanly when the consumer stops early, and again on the next run', async () => {
    const input = await rows(Array.from({ length: 50 }, () => 'noisy-photo.jpg'));
    for (let run = 0; run < 2; run++) {
      const { onReject } = rejectsCollector();
      let seen = 0;
      for await (const r of encodeImage({ onReject, concurrency: 8, readers: 2, maxBytesInFlight: 40_000 })(fromArray(input))) {
        expect(r.line).toBe(++seen);
        if (seen === 5) break;
      }
      expect(seen).toBe(5);
    }
  });

  it('checks its options', () => {
    expect(() => encodeImage({ onReject: () => {}, concurrency: 0 })).toThrow(/concurrency: expected a positive integer, got 0/);
    expect(() => encodeImage({ onReject: () => {}, maxImageBytes: -1 })).toThrow(/maxImageBytes/);
    expect(() => encodeImage({ onReject: () => {}, readers: 1.5 })).toThrow(/readers/);
  });
});
