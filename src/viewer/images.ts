import { open, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ByteBudget } from '../core/flow/byte-budget.js';
import { imageDimensions } from '../core/images/image-dimensions.js';
import { SNIFF_BYTES, sniffImageFormat } from '../core/images/image-format.js';
import { RESIZE_DEFAULTS, type SharpModule } from '../core/images/image-resize.js';
import { positiveInteger } from '../core/flow/options.js';
import { insideRoot, resolveImagePath, URL_LIKE } from '../core/images/image-path.js';

/** Largest image served (the API takes 20 MB; a dataset's own images are smaller). */
export const MAX_IMAGE_BYTES = 50 * 1024 * 1024;
/** Longest side of a thumbnail, pixels (shown at ~160 px, sharp on 2× screens). */
export const THUMB_PIXELS = 320;
/**
 * Bytes of image files held at once by the requests being answered (a page asks for its 50
 * thumbnails six at a time): the others wait; a file larger than this is read alone.
 */
export const IMAGE_MEMORY_BYTES = 64 * 1024 * 1024;

export type ImageAnswer =
  | { ok: true; body: Buffer; mime: string; thumbnail: boolean }
  | { ok: false; status: number; message: string };

export interface RowImagesOptions {
  /** Base of relative `img_path`s. */
  imageRoot: string;
  /** Refuse paths leading outside `imageRoot` (`..`, absolute, symlinks). */
  confine: boolean;
  /** sharp as `--resize` loads it (`core/images/image-resize.ts`), or null: thumbnails are then the originals. */
  sharp: SharpModule | null;
  /** An image with more pixels (by its header) gets no thumbnail, and sharp decodes none: decompression bombs. Default `--resize`'s, 100,000,000. */
  maxPixels?: number;
  /** Thumbnails decoded at once (each on a libuv thread). Default `--resize`'s, 2. */
  concurrency?: number;
  /** Bytes of image files held at once. Default {@link IMAGE_MEMORY_BYTES}. */
  memoryBytes?: number;
}

/**
 * The viewer's images: returns the function giving a row's image from the row's own `img_path`
 * (never a path from a request), or from the bytes embedded in the row. Relative paths resolve against `imageRoot` as `build` resolves
 * them, URLs (`URL_LIKE`: `scheme://`, `data:`) are not fetched, and with `confine` a path leading
 * outside the root is refused (the same check as `build --confine`). Only a regular file of at most
 * {@link MAX_IMAGE_BYTES} whose bytes are JPEG, PNG, WEBP or GIF is sent, with the sniffed type: a
 * row pointing at /etc/passwd gets a 415, not the file. With `thumbnail` and sharp, a WEBP of at
 * most {@link THUMB_PIXELS} a side; without sharp, the original.
 *
 * Memory: at most `memoryBytes` of files read at once (one larger file alone), and
 * `concurrency` decodes of at most `maxPixels` pixels. Failures are answers (404, 403, 413, 415),
 * never throws; a file sharp cannot decode (truncated) is sent as it is. Bad limits throw at
 * construction (E_OPTION).
 */
export function rowImages(options: RowImagesOptions): (imgPath: unknown, thumbnail: boolean, embedded?: Buffer) => Promise<ImageAnswer> {
  const { imageRoot, confine, sharp, maxPixels = RESIZE_DEFAULTS.maxPixels, concurrency = RESIZE_DEFAULTS.concurrency, memoryBytes = IMAGE_MEMORY_BYTES } = options;
  for (const [name, value] of Object.entries({ maxPixels, concurrency, memoryBytes })) positiveInteger(name, value);
  const root = path.resolve(imageRoot);
  const memory = new ByteBudget(memoryBytes);
  const decodes = new ByteBudget(concurrency);

  async function thumbnailOf(make: SharpModule, body: Buffer): Promise<ImageAnswer | null> {
    const size = imageDimensions(body);
    if (size && size.width * size.height > maxPixels) {
      return { ok: false, status: 413, message: `${size.width}×${size.height} pixels, over the limit of ${maxPixels}: no thumbnail` };
    }
    await decodes.acquire(1);
    try {
      const thumb = await make(body, { limitInputPixels: maxPixels, failOn: 'none' })
        .rotate()
        .resize({ width: THUMB_PIXELS, height: THUMB_PIXELS, fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 70 })
        .toBuffer();
      return { ok: true, body: thumb, mime: 'image/webp', thumbnail: true };
    } catch {
      return null; // A file sharp cannot decode (truncated): the browser may still show part of the original.
    } finally {
      decodes.release(1);
    }
  }

  /** An image's bytes → the answer: its sniffed type, or a thumbnail. */
  async function answer(body: Buffer, thumbnail: boolean): Promise<ImageAnswer> {
    const sniffed = sniffImageFormat(body.subarray(0, SNIFF_BYTES));
    if (!sniffed.ok) return { ok: false, status: 415, message: `not an image the viewer shows: ${sniffed.reason}` };
    const thumb = thumbnail && sharp ? await thumbnailOf(sharp, body) : null;
    return thumb ?? { ok: true, body, mime: sniffed.mime, thumbnail: false };
  }

  return async function rowImage(imgPath, thumbnail, embedded) {
    // An image embedded in the row (a Parquet dataset's): its bytes, never a file.
    if (embedded) return embedded.length > MAX_IMAGE_BYTES ? { ok: false, status: 413, message: `image over ${MAX_IMAGE_BYTES} bytes` } : answer(embedded, thumbnail);
    if (typeof imgPath !== 'string' || imgPath === '') return { ok: false, status: 404, message: 'the row has no img_path' };
    if (URL_LIKE.test(imgPath)) return { ok: false, status: 404, message: 'img_path is a URL: remote images are not fetched' };
    let file = resolveImagePath(imgPath, root);
    let handle;
    try {
      if (confine) {
        file = await realpath(file);
        if (!insideRoot(file, await realpath(root))) return { ok: false, status: 403, message: 'img_path leads outside the image root (--confine)' };
      }
      handle = await open(file, 'r');
    } catch (err) {
      if (confine) return { ok: false, status: 403, message: 'img_path leads outside the image root or is missing (--confine)' };
      return { ok: false, status: 404, message: `image not found (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})` };
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) return { ok: false, status: 404, message: 'img_path is not a regular file' };
      if (stat.size > MAX_IMAGE_BYTES) return { ok: false, status: 413, message: `image over ${MAX_IMAGE_BYTES} bytes` };
      const head = Buffer.alloc(Math.min(SNIFF_BYTES, stat.size));
      await handle.read(head, 0, head.length, 0);
      const sniffed = sniffImageFormat(head);
      if (!sniffed.ok) return { ok: false, status: 415, message: `not an image the viewer shows: ${sniffed.reason}` };
      await memory.acquire(stat.size);
      try {
        return await answer(await handle.readFile(), thumbnail);
      } finally {
        memory.release(stat.size);
      }
    } finally {
      await handle.close();
    }
  };
}
