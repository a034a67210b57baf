import { open, realpath } from 'node:fs/promises';
import path from 'node:path';
import { SNIFF_BYTES, sniffImageFormat } from '../core/image-format.js';
import { resolveImagePath } from '../stages/resolve-image.js';

/** Largest image served (the API takes 20 MB; a dataset's own images are smaller). */
export const MAX_IMAGE_BYTES = 50 * 1024 * 1024;
/** Longest side of a thumbnail, pixels (shown at ~160 px, sharp on 2× screens). */
export const THUMB_PIXELS = 320;

/** sharp's factory, when it can be loaded (an optional dependency). */
export type Sharp = typeof import('sharp').default;

export type ImageAnswer =
  | { ok: true; body: Buffer; mime: string; thumbnail: boolean }
  | { ok: false; status: number; message: string };

/** Loads sharp if it is installed and works on this machine; null otherwise (thumbnails are then the originals). */
export async function loadSharp(): Promise<Sharp | null> {
  try {
    const mod = (await import('sharp')) as unknown as { default: Sharp };
    return mod.default;
  } catch {
    return null;
  }
}

/**
 * The image of a row, from the row's own `img_path` (never a path from a request): relative paths
 * resolve against `imageRoot`, URLs are not fetched, and with `confine` a path leading outside
 * the root (`..`, absolute, symlinks) is refused. Only a regular file whose bytes are JPEG, PNG,
 * WEBP or GIF is sent, with the sniffed type: a row pointing at /etc/passwd gets a 415, not the file.
 * With `thumbnail` and sharp, a WEBP of at most {@link THUMB_PIXELS} a side; without sharp, the original.
 */
export async function rowImage(imgPath: unknown, options: { imageRoot: string; confine: boolean; thumbnail: boolean; sharp: Sharp | null }): Promise<ImageAnswer> {
  if (typeof imgPath !== 'string' || imgPath === '') return { ok: false, status: 404, message: 'the row has no img_path' };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(imgPath)) return { ok: false, status: 404, message: 'img_path is a URL: remote images are not fetched' };
  const root = path.resolve(options.imageRoot);
  let file = resolveImagePath(imgPath, root);
  let handle;
  try {
    if (options.confine) {
      file = await realpath(file);
      const realRoot = await realpath(root);
      if (file !== realRoot && !file.startsWith(realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep)) {
        return { ok: false, status: 403, message: 'img_path leads outside the image root (--confine)' };
      }
    }
    handle = await open(file, 'r');
  } catch (err) {
    if (options.confine) return { ok: false, status: 403, message: 'img_path leads outside the image root or is missing (--confine)' };
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
    const body = await handle.readFile();
    if (options.thumbnail && options.sharp) {
      try {
        const thumb = await options.sharp(body, { failOn: 'none' })
          .rotate()
          .resize({ width: THUMB_PIXELS, height: THUMB_PIXELS, fit: 'inside', withoutEnlargement: true })
          .webp({ quality: 70 })
          .toBuffer();
        return { ok: true, body: thumb, mime: 'image/webp', thumbnail: true };
      } catch {
        // A file sharp cannot decode (truncated): the browser may still show part of the original.
      }
    }
    return { ok: true, body, mime: sniffed.mime, thumbnail: false };
  } finally {
    await handle.close();
  }
}
