import { statSync, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { optionError } from '../errors.js';
import { mapOrdered } from '../core/map-ordered.js';
import type { DatasetRow, OnReject, Outcome, Reject, ResolvedImage, Stage } from '../types.js';

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
}

const DEFAULTS = { concurrency: 0 };

/** Pure: where a row's image lives. */
export function resolveImagePath(imgPath: string, imageRoot: string): string {
  return path.resolve(imageRoot, imgPath);
}

/**
 * Stage: rows → rows with `imageFile`, the absolute path of an existing regular file, and its
 * size `imageBytes`. A missing
 * file, a folder, or a path that cannot be looked at is a reject; a URL is a reject too (remote
 * images are not fetched). Order is kept; with `concurrency` > 0, at most that many rows are in flight.
 */
export function resolveImage<T extends DatasetRow>(options: ResolveImageOptions): Stage<T, T & ResolvedImage> {
  if (typeof options?.onReject !== 'function') throw optionError('onReject', options?.onReject, 'a function');
  const o = { ...DEFAULTS, ...options };
  if (typeof o.imageRoot !== 'string' || o.imageRoot === '') throw optionError('imageRoot', o.imageRoot, 'a folder path');
  if (!Number.isSafeInteger(o.concurrency) || o.concurrency < 0) throw optionError('concurrency', o.concurrency, 'an integer ≥ 0');
  const root = path.resolve(o.imageRoot);
  const base = o.file === undefined ? {} : { file: o.file };

  function resolveOne(row: T): Outcome<T & ResolvedImage> | Promise<Outcome<T & ResolvedImage>> {
    const reject = (code: Reject['code'], message: string) => ({ reject: { ...base, line: row.line, id: row.id, stage: 'resolveImage', code, message } });
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(row.imgPath)) {
      return reject('E_REMOTE_IMAGE', `img_path ${JSON.stringify(row.imgPath)} is a URL; remote images are not fetched`);
    }
    const imageFile = resolveImagePath(row.imgPath, root);
    const checked = (s: Stats): Outcome<T & ResolvedImage> =>
      s.isFile() ? { row: { ...row, imageFile, imageBytes: s.size } } : reject('E_IMAGE_UNREADABLE', `image ${imageFile} is not a regular file`);
    const failed = (err: unknown): Outcome<T & ResolvedImage> => {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return reject('E_IMAGE_NOT_FOUND', `image not found: ${imageFile}`);
      return reject('E_IMAGE_UNREADABLE', `image ${imageFile} cannot be read (${code ?? (err as Error).message})`);
    };
    if (o.concurrency > 0) return stat(imageFile).then(checked, failed);
    try {
      return checked(statSync(imageFile));
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
