import { copyFile, mkdtemp, readFile, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodeImage } from '../../src/stages/encode-image.js';
import { collect, fromArray, rejectsCollector } from '../helpers/streams.js';
import type { DatasetRow, ResolvedImage } from '../../src/types.js';

const images = fileURLToPath(new URL('../../fixtures/images/', import.meta.url));
const row = (line: number, file: string): DatasetRow & ResolvedImage => ({
  line,
  id: `r${line}`,
  imgPath: file,
  label: 'hateful',
  imageFile: path.isAbsolute(file) ? file : path.join(images, file),
});

describe('encodeImage', () => {
  it('sniffs the MIME type from the bytes and keeps the bytes as they are, in input order', async () => {
    const files = ['noisy-photo.jpg', 'face.png', 'bubble.webp', 'chart.gif', 'screenshot.jpg', 'banner.jpg'];
    const out = await collect((onReject) => encodeImage({ onReject, concurrency: 3 }), files.map((f, i) => row(i + 1, f)));
    expect(out.rejects).toEqual([]);
    expect(out.rows.map((r) => r.image.mime)).toEqual(['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/png', 'image/jpeg']);
    for (const r of out.rows) expect(r.image.data.equals(await readFile(r.imageFile))).toBe(true);
    expect(out.rows.map((r) => r.line)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('rejects files that lie about being images, empty, truncated or too large, naming the file', async () => {
    const files = ['icon.bmp', 'not-an-image.png', 'empty.png', 'truncated.jpg', 'noisy-photo.jpg', 'face.png', 'gone.png'];
    const out = await collect((onReject) => encodeImage({ onReject, maxImageBytes: 10_000, file: 'd.jsonl' }), files.map((f, i) => row(i + 1, f)));
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

  /**
   * Reads ahead of a stalled consumer, then truncates every file: rows read before the truncation
   * come out whole, rows read after it are refused. So the number of whole rows is the number of
   * images the stage had read ahead.
   */
  async function wholeRowsReadAhead(maxBytesInFlight: number): Promise<number> {
    const dir = await mkdtemp(path.join(tmpdir(), 'be-encode-'));
    const rows = [];
    for (let i = 1; i <= 10; i++) {
      const file = path.join(dir, `img${i}.jpg`);
      await copyFile(path.join(images, 'noisy-photo.jpg'), file); // 16,154 bytes each
      rows.push(row(i, file));
    }
    const { rejects, onReject } = rejectsCollector();
    const iterator = encodeImage({ onReject, concurrency: 8, maxBytesInFlight })(fromArray(rows))[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value?.line).toBe(1);
    // Wait until every read the stage started is finished (no fs request in flight).
    while (process.getActiveResourcesInfo().some((r) => r === 'FSReqPromise' || r === 'CloseReq')) await new Promise((r) => setTimeout(r, 10));
    for (const r of rows) await truncate(r.imageFile, 0);
    let whole = 1;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) whole++;
    expect(whole + rejects.length).toBe(10);
    // Opened before the truncation and read after it ("shrank"), or opened after it (empty).
    for (const r of rejects) expect(r.code).toMatch(/^(E_IMAGE_EMPTY|E_IMAGE_UNREADABLE)$/);
    return whole;
  }

  it('bounds the bytes read ahead of a stalled consumer (control: a large budget reads further)', async () => {
    // 40,000 bytes hold two 16 KB images: row 1 (handed over) plus rows 2-3 read ahead.
    expect(await wholeRowsReadAhead(40_000)).toBe(3);
    // Control: with a large budget the same stall lets the stage read up to its concurrency ahead.
    expect(await wholeRowsReadAhead(1 << 30)).toBeGreaterThan(3);
  });

  it('stops cleanly when the consumer stops early: no read left running', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => row(i + 1, 'noisy-photo.jpg'));
    const { onReject } = rejectsCollector();
    let seen = 0;
    for await (const r of encodeImage({ onReject, concurrency: 8, maxBytesInFlight: 40_000 })(fromArray(rows))) {
      expect(r.line).toBe(++seen);
      if (seen === 5) break;
    }
    expect(process.getActiveResourcesInfo().filter((r) => r === 'FSReqPromise')).toEqual([]);
  });

  it('checks its options', () => {
    expect(() => encodeImage({ onReject: () => {}, concurrency: 0 })).toThrow(/concurrency: expected a positive integer, got 0/);
    expect(() => encodeImage({ onReject: () => {}, maxImageBytes: -1 })).toThrow(/maxImageBytes/);
  });
});
