import { stat } from 'node:fs/promises';
import path from 'node:path';
import { optionError } from '../errors.js';
import { mapOrdered } from '../core/map-ordered.js';
import { positiveInteger } from '../core/options.js';
import type { DatasetRow, OnReject, Outcome, Reject, ResolvedImage, Stage } from '../types.js';

export interface ResolveImageOptions {
  onReject: OnReject;
  /** Folder that relative `img_path`s resolve against. The CLI defaults it to the dataset's folder (the working directory for stdin). */
  imageRoot: string;
  /** Dataset name for rejects. */
  file?: string;
  /** `stat` calls in flight. Default 16: they are cheap and run in libuv's pool. */
  concurrency?: number;
}

const DEFAULTS = { concurrency: 16 };

/** Pure: where a row's image lives. */
export function resolveImagePath(imgPath: string, imageRoot: string): string {
  return path.resolve(imageRoot, imgPath);
}

/**
 * Stage: rows → rows with `imageFile`, the absolute path of an existing regular file. A missing
 * file, a folder, or a path that cannot be looked at is a reject; a URL is a reject too (remote
 * images are not fetched). Order is kept; at most `concurrency` rows are in flight.
 */
export function resolveImage<T extends DatasetRow>(options: ResolveImageOptions): Stage<T, T & ResolvedImage> {
  if (typeof options?.onReject !== 'function') throw optionError('onReject', options?.onReject, 'a function');
  const o = { ...DEFAULTS, ...options };
  if (typeof o.imageRoot !== 'string' || o.imageRoot === '') throw optionError('imageRoot', o.imageRoot, 'a folder path');
  positiveInteger('concurrency', o.concurrency);
  const root = path.resolve(o.imageRoot);
  const base = o.file === undefined ? {} : { file: o.file };

  async function resolveOne(row: T): Promise<Outcome<T & ResolvedImage>> {
    const reject = (code: Reject['code'], message: string) => ({ reject: { ...base, line: row.line, id: row.id, stage: 'resolveImage', code, message } });
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(row.imgPath)) {
      return reject('E_REMOTE_IMAGE', `img_path ${JSON.stringify(row.imgPath)} is a URL; remote images are not fetched`);
    }
    const imageFile = resolveImagePath(row.imgPath, root);
    try {
      const s = await stat(imageFile);
      if (!s.isFile()) return reject('E_IMAGE_UNREADABLE', `image ${imageFile} is not a regular file`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return reject('E_IMAGE_NOT_FOUND', `image not found: ${imageFile}`);
      return reject('E_IMAGE_UNREADABLE', `image ${imageFile} cannot be read (${code ?? (err as Error).message})`);
    }
    return { row: { ...row, imageFile } };
  }

  return async function* resolveImageStage(source, options) {
    for await (const out of mapOrdered(source, o.concurrency, resolveOne, options?.signal)) {
      if (out.reject) await o.onReject(out.reject);
      else yield out.row;
    }
  };
}
