import { realpathSync, statSync, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { optionError } from '../errors.js';
import { mapOrdered } from '../core/flow/map-ordered.js';
import { oneOf } from '../core/flow/options.js';
import type { DatasetRow, OnReject, Outcome, Reject, ResolvedImage, Stage } from '../types.js';
import { embeddedName, insideRoot, resolveImagePath, URL_LIKE } from '../core/images/image-path.js';

export interface ResolveImageOptions {
  onReject: OnReject;
  /** Folder that relative `img_path`s resolve against. The CLI defaults it to the dataset's folder (the working directory for stdin). */
  imageRoot: string;
  /** Dataset name for rejects. */
  file?: string;
  /**
   * `stat` calls in flight in libuv's pool. Default 0: each `stat` is a synchronous call on the
   * calling thread, the cheapest on local disks (a pool round trip costs more than the `stat`
   * there). Use 16 or more on network storage, where each `stat` waits milliseconds.
   */
  concurrency?: number;
  /**
   * Refuse images that resolve outside `imageRoot`: `..`, absolute paths elsewhere, and symlinks
   * leading out (the path is resolved to its real location, which is what is then read). For
   * datasets from the web, whose `img_path` must not reach `/etc/passwd` or `~/.ssh`. Default false.
   */
  confine?: boolean;
  /**
   * What an `img_path` that is a URL becomes. `reject` (default): E_REMOTE_IMAGE, never fetched.
   * `fetch`: an http(s) URL is passed on for encodeImage to download. `passthrough`: an http(s)
   * URL goes into the request as it is (the provider fetches it). Other schemes (file:, data:,
   * ftp:...) are refused (E_REMOTE_REFUSED) in both.
   */
  imageUrls?: ImageUrls;
}

export type ImageUrls = 'reject' | 'fetch' | 'passthrough';

const DEFAULTS = { concurrency: 0, confine: false, imageUrls: 'reject' as ImageUrls };

/**
 * Stage: rows → rows with `imageFile`, the absolute path of an existing regular file, and its
 * size `imageBytes` (a row whose image is embedded in the dataset passes with its bytes' size). A missing
 * file, a folder, or a path that cannot be looked at is a reject, and with `confine` a path that
 * leads outside `imageRoot`. A URL is a reject too unless `imageUrls` lets http(s) URLs through
 * (as `imageFile`, with `remote` set and `imageBytes` 0). Order is kept; with `concurrency` > 0,
 * at most that many rows are in flight.
 *
 * Memory: one row, or `concurrency` rows in flight (no image bytes: only a `stat`). Failures:
 * every problem of a row is a reject (E_IMAGE_NOT_FOUND, E_IMAGE_UNREADABLE, E_REMOTE_IMAGE,
 * E_IMAGE_OUTSIDE_ROOT); only bad options throw, at construction.
 */
export function resolveImage<T extends DatasetRow>(options: ResolveImageOptions): Stage<T, T & ResolvedImage> {
  if (typeof options?.onReject !== 'function') throw optionError('onReject', options?.onReject, 'a function');
  const o = { ...DEFAULTS, ...options };
  if (typeof o.imageRoot !== 'string' || o.imageRoot === '') throw optionError('imageRoot', o.imageRoot, 'a folder path');
  if (!Number.isSafeInteger(o.concurrency) || o.concurrency < 0) throw optionError('concurrency', o.concurrency, 'an integer ≥ 0');
  const imageUrls = oneOf('imageUrls', o.imageUrls, ['reject', 'fetch', 'passthrough'] as const);
  const root = path.resolve(o.imageRoot);
  const base = o.file === undefined ? {} : { file: o.file };
  // The root's own real location (it may itself be reached through a symlink).
  let realRoot: string | null = null;

  function resolveOne(row: T): Outcome<T & ResolvedImage> | Promise<Outcome<T & ResolvedImage>> {
    const reject = (code: Reject['code'], message: string) => ({ reject: { ...base, line: row.line, id: row.id, stage: 'resolveImage', code, message } });
    // Bytes embedded in the dataset (Parquet): nothing to look up; encodeImage checks them.
    if (row.imageData !== undefined) return { row: { ...row, imageFile: embeddedName(row), imageBytes: row.imageData.length } };
    if (URL_LIKE.test(row.imgPath)) {
      const shown = JSON.stringify(row.imgPath.slice(0, 200));
      if (imageUrls === 'reject') return reject('E_REMOTE_IMAGE', `img_path ${shown} is a URL; remote images are not fetched (--remote-images fetches them)`);
      const url = URL.canParse(row.imgPath) ? new URL(row.imgPath) : null;
      if (url?.protocol !== 'http:' && url?.protocol !== 'https:') return reject('E_REMOTE_REFUSED', `img_path ${shown}: only http and https URLs are ${imageUrls === 'fetch' ? 'fetched' : 'passed on'}`);
      return { row: { ...row, imageFile: url.href, imageBytes: 0, remote: imageUrls } };
    }
    const imageFile = resolveImagePath(row.imgPath, root);
    const outside = () => reject('E_IMAGE_OUTSIDE_ROOT', `img_path ${JSON.stringify(row.imgPath)} leads outside the image root ${root} (--confine)`);
    const checked = (s: Stats, real = imageFile): Outcome<T & ResolvedImage> => {
      if (!s.isFile()) return reject('E_IMAGE_UNREADABLE', `image ${imageFile} is not a regular file`);
      if (o.confine && !insideRoot(real, realRoot ??= realpathSync(root))) return outside();
      return { row: { ...row, imageFile: real, imageBytes: s.size } };
    };
    const failed = (err: unknown): Outcome<T & ResolvedImage> => {
      // Outside the root, whether the file exists there is not told.
      if (o.confine && !insideRoot(imageFile, root)) return outside();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return reject('E_IMAGE_NOT_FOUND', `image not found: ${imageFile}`);
      return reject('E_IMAGE_UNREADABLE', `image ${imageFile} cannot be read (${code ?? (err as Error).message})`);
    };
    if (o.concurrency > 0) {
      if (!o.confine) return stat(imageFile).then((s) => checked(s), failed);
      return Promise.all([stat(imageFile), realpath(imageFile)]).then(([s, real]) => checked(s, real), failed);
    }
    try {
      return checked(statSync(imageFile), o.confine ? realpathSync(imageFile) : imageFile);
    } catch (err) {
      return failed(err);
    }
  }

  return async function* resolveImageStage(source, options) {
    if (o.concurrency === 0) {
      for await (const row of source) {
        const out = resolveOne(row) as Outcome<T & ResolvedImage>;
        if (out.reject) await o.onReject(out.reject);
        else yield out.row;
      }
      return;
    }
    for await (const out of mapOrdered(source, o.concurrency, async (row: T) => resolveOne(row), options?.signal)) {
      if (out.reject) await o.onReject(out.reject);
      else yield out.row;
    }
  };
}
