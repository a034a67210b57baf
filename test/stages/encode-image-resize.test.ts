import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeImage, type EncodeImageOptions } from '../../src/stages/encode-image.js';
import { RESIZE_HIGH_DETAIL, RESIZE_LOW_DETAIL } from '../../src/core/images/image-resize.js';
import type { FileReadResult } from '../../src/core/io/file-reader.js';
import { collect, fromArray, rejectsCollector } from '../helpers/streams.js';
import { animatedGif, decoded, halves, makeBmp, photo } from '../helpers/images.js';
import type { DataUri, DatasetRow, ResolvedImage } from '../../src/types.js';

const fixtures = fileURLToPath(new URL('../../fixtures/images/', import.meta.url));
let dir: string;
const file = (name: string) => (path.isAbsolute(name) ? name : path.join(dir, name));

async function rows(names: string[]): Promise<Array<DatasetRow & ResolvedImage>> {
  return Promise.all(
    names.map(async (name, i) => {
      const imageFile = file(name);
      const imageBytes = await readFile(imageFile).then((b) => b.length);
      return { line: i + 1, id: `r${i + 1}`, imgPath: name, label: 'hateful', imageFile, imageBytes };
    }),
  );
}

const resized = (extra: Partial<EncodeImageOptions> = {}, resize: EncodeImageOptions['resize'] = { target: RESIZE_HIGH_DETAIL }) =>
  (onReject: EncodeImageOptions['onReject']) => encodeImage({ onReject, resize, ...extra });

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'be-resize-'));
  await photo(3000, 2000).jpeg({ quality: 90 }).toFile(file('large.jpg'));
  await photo(4000, 1000).png().toFile(file('wide.png'));
  await photo(300, 200).webp({ quality: 80 }).toFile(file('small.webp'));
  // Stored 400 wide, 200 high, top half red; EXIF 6 says: turn 90° clockwise to display (200×400, red on the right).
  await halves(400, 200).jpeg().withMetadata({ orientation: 6 }).toFile(file('rotated.jpg'));
  await photo(200, 150).tiff().toFile(file('photo.tiff'));
  await sharp({ create: { width: 64, height: 48, channels: 4, background: { r: 0, g: 128, b: 0, alpha: 0.5 } } }).tiff({ compression: 'lzw' }).toFile(file('alpha.tiff'));
  await writeFile(file('big.bmp'), makeBmp({ width: 3000, height: 100, bpp: 24, pixel: (x) => [x % 256, 0, 255, 255] }));
  await writeFile(file('anim.gif'), await animatedGif(40, 30, 3));
  await writeFile(file('anim.webp'), await animatedGif(40, 30, 3, 'webp'));
  await photo(1200, 900).avif({ quality: 50, effort: 0 }).toFile(file('photo.avif'));
  await photo(100, 80).png().withMetadata({ exif: { IFD0: { Copyright: 'someone' } } }).toFile(file('exif.png'));
  await writeFile(file('bad.tiff'), Buffer.concat([Buffer.from('II*\0', 'latin1'), Buffer.alloc(200, 7)]));
  await writeFile(file('bad.heic'), Buffer.concat([Buffer.from('\0\0\0\x18ftypheic\0\0\0\0mif1heic', 'latin1'), Buffer.alloc(100, 1)]));
});

describe('encodeImage with resize', () => {
  it('scales to the target keeping the format, applies EXIF orientation, converts what the API refuses; decoded back with sharp', async () => {
    const names = ['large.jpg', 'wide.png', 'small.webp', 'rotated.jpg', 'photo.tiff', 'alpha.tiff', 'big.bmp', 'anim.gif', path.join(fixtures, 'icon.bmp'), 'photo.avif', 'anim.webp'];
    const out = await collect(resized({ concurrency: 4 }), await rows(names));
    expect(out.rejects).toEqual([]);
    expect(out.rows.map((r) => r.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const seen = await Promise.all(out.rows.map(async (r) => ({ mime: (r.image as DataUri).mime, w: (r.image as DataUri).width, h: (r.image as DataUri).height, ...(await decoded(r.image as DataUri)) })));
    const summary = seen.map((s) => [s.mime, s.format, s.width, s.height, s.pages]);
    expect(summary).toEqual([
      ['image/jpeg', 'jpeg', 1152, 768, 1], // 3000×2000: shortest side to 768
      ['image/png', 'png', 2048, 512, 1], // 4000×1000: longest side to 2048
      ['image/webp', 'webp', 300, 200, 1], // fits: untouched
      ['image/jpeg', 'jpeg', 200, 400, 1], // turned upright
      ['image/jpeg', 'jpeg', 200, 150, 1], // TIFF without alpha → JPEG
      ['image/png', 'png', 64, 48, 1], // TIFF with alpha → PNG
      ['image/jpeg', 'jpeg', 2048, 68, 1], // BMP, scaled
      ['image/png', 'png', 40, 30, 1], // animated GIF → first frame
      ['image/jpeg', 'jpeg', 4, 4, 1], // the fixture BMP
      ['image/jpeg', 'jpeg', 1024, 768, 1], // AVIF (HEIF family), scaled and converted
      ['image/webp', 'webp', 40, 30, 1], // animated WEBP → its first frame, still WEBP
    ]);
    // The dimensions carried on the row are those of the image sent.
    for (const s of seen) expect([s.w, s.h]).toEqual([s.width, s.height]);
    // Upright: the red half is now on the right, so the top-left pixel is blue.
    expect(seen[3]!.firstPixel[2]).toBeGreaterThan(200);
    expect(seen[3]!.firstPixel[0]).toBeLessThan(60);
    expect(seen[3]!.exif).toBe(false);
    // The first frame of the GIF (and of the WEBP) is the red one.
    expect(seen[7]!.firstPixel).toEqual([255, 0, 0]);
    expect(seen[10]!.firstPixel[0]).toBeGreaterThan(240);
    expect(seen[10]!.firstPixel[1]).toBeLessThan(20);
    // An image that fits and carries no metadata is sent byte for byte.
    expect((out.rows[2]!.image as DataUri).data.equals(await readFile(file('small.webp')))).toBe(true);
  });

  it('strips metadata (re-encoding an image that otherwise fits) and uses the low-detail target', async () => {
    const exif = await collect(resized(), await rows(['exif.png']));
    expect((await sharp(await readFile(file('exif.png'))).metadata()).exif).toBeDefined();
    expect(await decoded(exif.rows[0]!.image as DataUri)).toMatchObject({ format: 'png', width: 100, height: 80, exif: false });
    const low = await collect(resized({}, { target: RESIZE_LOW_DETAIL }), await rows(['large.jpg']));
    expect(await decoded(low.rows[0]!.image as DataUri)).toMatchObject({ width: 512, height: 341 });
  });

  it('makes an image over maxImageBytes smaller instead of rejecting it; without resize it stays rejected', async () => {
    const maxImageBytes = 60_000;
    const [row] = await rows(['large.jpg']);
    expect(row!.imageBytes).toBeGreaterThan(maxImageBytes);
    const out = await collect(resized({ maxImageBytes }), [row!]);
    expect(out.rejects).toEqual([]);
    const image = out.rows[0]!.image as DataUri;
    expect(image.data.length).toBeLessThanOrEqual(maxImageBytes);
    expect(await decoded(image)).toMatchObject({ format: 'jpeg' });
    const plain = await collect((onReject) => encodeImage({ onReject, maxImageBytes }), [row!]);
    expect(plain.rejects.map((r) => r.code)).toEqual(['E_IMAGE_TOO_LARGE']);
    // With resize, the read limit is the source cap.
    const source = await collect(resized({}, { target: RESIZE_HIGH_DETAIL, maxSourceBytes: 100_000 }), [row!]);
    expect(source.rejects[0]).toMatchObject({ code: 'E_IMAGE_TOO_LARGE', message: expect.stringMatching(/over --max-source-image-bytes 100000$/) });
  });

  it('rejects what sharp cannot decode (E_IMAGE_DECODE), too many pixels, and what is not an image; counts add up', async () => {
    const names = ['bad.tiff', 'large.jpg', 'bad.heic', path.join(fixtures, 'not-an-image.png'), path.join(fixtures, 'truncated.jpg'), 'small.webp'];
    const out = await collect(resized({}, { target: RESIZE_HIGH_DETAIL, maxPixels: 1_000_000 }), await rows(names));
    expect(out.rows.map((r) => r.line)).toEqual([6]);
    expect(out.rejects.map((r) => [r.line, r.code])).toEqual([
      [1, 'E_IMAGE_DECODE'],
      [2, 'E_IMAGE_TOO_LARGE'],
      [3, 'E_IMAGE_DECODE'],
      [4, 'E_IMAGE_FORMAT'],
      [5, 'E_IMAGE_TRUNCATED'],
    ]);
    expect(out.rejects[1]!.message).toMatch(/3000×2000 pixels, over --max-image-pixels 1000000/);
    expect(out.rows.length + out.rejects.length).toBe(names.length);
  });

  it('without resize, TIFF and BMP stay rejected, with a hint', async () => {
    const out = await collect((onReject) => encodeImage({ onReject }), await rows(['photo.tiff', 'big.bmp']));
    expect(out.rejects.map((r) => r.code)).toEqual(['E_IMAGE_FORMAT', 'E_IMAGE_FORMAT']);
    expect(out.rejects[0]!.message).toMatch(/TIFF is not accepted.*--resize converts it/);
  });

  it('keeps input order under concurrency with images of very different cost', async () => {
    const names = Array.from({ length: 24 }, (_, i) => ['large.jpg', 'small.webp', 'wide.png', 'big.bmp'][i % 4]!);
    const out = await collect(resized({ concurrency: 6 }, { target: RESIZE_LOW_DETAIL, concurrency: 3 }), await rows(names));
    expect(out.rows.map((r) => r.line)).toEqual(names.map((_, i) => i + 1));
    expect(out.rows.map((r) => Math.max((r.image as DataUri).width!, (r.image as DataUri).height!))).toEqual(names.map((n) => (n === 'small.webp' ? 300 : 512)));
  });

  it('holds the byte budget: a stalled consumer stops the reads (control: a large budget reads further)', async () => {
    const data = await readFile(file('large.jpg'));
    async function readsAhead(maxBytesInFlight: number) {
      // Row 1 is read at once; later reads stay pending (their images are neither read nor resized) until released.
      const pending: Array<() => void> = [];
      const readFile = (): Promise<FileReadResult> =>
        new Promise((resolve) => (pending.length === 0 && reads === 0 ? resolve({ ok: true, data }) : pending.push(() => resolve({ ok: true, data })), reads++));
      let reads = 0;
      const { onReject } = rejectsCollector();
      const input = await rows(Array.from({ length: 12 }, () => 'large.jpg'));
      const stage = encodeImage({ onReject, concurrency: 8, maxBytesInFlight, readFile, resize: { target: RESIZE_LOW_DETAIL } });
      const iterator = stage(fromArray(input))[Symbol.asyncIterator]();
      expect((await iterator.next()).value?.line).toBe(1);
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      const seen = reads;
      const closing = iterator.return?.(undefined);
      for (const release of pending) release();
      await closing;
      return seen;
    }
    // A read holds its file and the output bound for 512×512 (~1.1 MB): row 1 was passed on, rows 2-3 fit, row 4 waits.
    const perImage = data.length + 512 * 512 * 4 + 65_536;
    expect(await readsAhead(2 * perImage + 1)).toBe(3);
    expect(await readsAhead(1 << 30)).toBe(8);
  });
});
