import { optionError } from '../errors.js';
import { ByteBudget } from '../core/byte-budget.js';
import { FileReaderPool, readFileHere, type FileReadResult } from '../core/file-reader.js';
import { checkImageComplete, sniffImageFormat } from '../core/image-format.js';
import { imageDimensions } from '../core/image-dimensions.js';
import { mapOrdered } from '../core/map-ordered.js';
import { positiveInteger } from '../core/options.js';
import type { DatasetRow, EncodedImage, OnReject, Reject, ResolvedImage, Stage } from '../types.js';

export interface EncodeImageOptions {
  onReject: OnReject;
  /** Dataset name for rejects. */
  file?: string;
  /** Images requested ahead of the one being passed on. Default 8. */
  concurrency?: number;
  /**
   * Reader threads, each reading one file at a time: the I/O parallelism. Default 0: files are read
   * on the main thread with synchronous calls, the fastest on local disks and the page cache (a
   * thread hand-off costs more than reading a 150 KB image there). Use 4–16 for network storage
   * (NFS, Lustre), where each open waits milliseconds.
   */
  readers?: number;
  /** Larger files are rejected unread. Default 20,000,000 (Azure's 20 MB per image). */
  maxImageBytes?: number;
  /**
   * Reads a whole file. Default: the reader threads. Replace it to read images from elsewhere
   * (an archive, an object store) or to observe reads in tests.
   */
  readFile?: (path: string, maxBytes: number) => Promise<FileReadResult>;
  /**
   * Bytes of images read ahead and not yet passed on. Default 64 MiB. With the single image each
   * later stage holds, the stage's worst case is `maxBytesInFlight + 2 × maxImageBytes`.
   */
  maxBytesInFlight?: number;
}

const DEFAULTS = {
  concurrency: 8,
  readers: 0,
  maxImageBytes: 20_000_000,
  maxBytesInFlight: 64 * 1024 * 1024,
};

type Encoded<T> = { row: T; held: number; reject?: undefined } | { row?: undefined; held?: undefined; reject: Reject };

/**
 * Stage: rows with `imageFile` and `imageBytes` → rows with `image`, a {@link DataUri} whose
 * MIME type is sniffed from the bytes (JPEG, PNG, WEBP, GIF) and whose width and height are read
 * from its header. Rejects: empty file, over
 * `maxImageBytes`, another format (named when known: BMP, TIFF, HEIC...), truncated file, read
 * error. Files are read on the main thread, or by `readers` threads (see `core/file-reader.ts`).
 *
 * Order is kept. Memory: at most `concurrency` reads requested and at most `maxBytesInFlight`
 * bytes read ahead (one image larger than that is read alone).
 */
export function encodeImage<T extends DatasetRow & ResolvedImage>(options: EncodeImageOptions): Stage<T, T & EncodedImage> {
  if (typeof options?.onReject !== 'function') throw optionError('onReject', options?.onReject, 'a function');
  const o = { ...DEFAULTS, ...options };
  positiveInteger('concurrency', o.concurrency);
  if (!Number.isSafeInteger(o.readers) || o.readers < 0) throw optionError('readers', o.readers, 'an integer ≥ 0');
  positiveInteger('maxImageBytes', o.maxImageBytes);
  positiveInteger('maxBytesInFlight', o.maxBytesInFlight);
  const base = o.file === undefined ? {} : { file: o.file };

  return async function* encodeImageStage(source, options) {
    const budget = new ByteBudget(o.maxBytesInFlight);
    let pool: FileReaderPool | null = null;

    async function encodeOne(row: T, signal: AbortSignal): Promise<Encoded<T & EncodedImage>> {
      const reject = (code: Reject['code'], message: string) => ({
        reject: { ...base, line: row.line, id: row.id, stage: 'encodeImage', code, message },
      });
      const tooLarge = (size: number) => reject('E_IMAGE_TOO_LARGE', `image ${row.imageFile} is ${size} bytes, over --max-image-bytes ${o.maxImageBytes}`);
      if (row.imageBytes === 0) return reject('E_IMAGE_EMPTY', `image ${row.imageFile} is empty (0 bytes)`);
      if (row.imageBytes > o.maxImageBytes) return tooLarge(row.imageBytes);
      // Called in input order before any other await, so budget is granted in input order: the
      // row at the head, the only one that can be passed on, never waits behind later rows.
      const held = Math.max(row.imageBytes, 1);
      await budget.acquire(held, signal);
      const read =
        o.readFile ??
        (o.readers === 0 ? async (path: string, max: number) => readFileHere(path, max) : (path: string, max: number) => (pool ??= new FileReaderPool(o.readers)).read(path, max));
      const result = await read(row.imageFile, o.maxImageBytes).catch((err: Error) => {
        budget.release(held);
        throw err;
      });
      if (!result.ok) {
        budget.release(held);
        switch (result.code) {
          case 'E_EMPTY':
            return reject('E_IMAGE_EMPTY', `image ${row.imageFile} is empty (0 bytes)`);
          case 'E_TOO_LARGE':
            return tooLarge(result.size ?? row.imageBytes);
          case 'ENOENT':
            return reject('E_IMAGE_NOT_FOUND', `image not found: ${row.imageFile}`);
          case 'ESHRANK':
            return reject('E_IMAGE_UNREADABLE', `image ${row.imageFile} changed while read: ${result.message}`);
          default:
            return reject('E_IMAGE_UNREADABLE', `image ${row.imageFile} cannot be read (${result.code})`);
        }
      }
      const data = result.data;
      const sniffed = sniffImageFormat(data);
      const problem = sniffed.ok ? checkImageComplete(sniffed.format, data) : sniffed.reason;
      if (!sniffed.ok || problem) {
        budget.release(held);
        return sniffed.ok
          ? reject('E_IMAGE_TRUNCATED', `image ${row.imageFile} is truncated: ${problem}`)
          : reject('E_IMAGE_FORMAT', `image ${row.imageFile}: ${problem}`);
      }
      // The size from the header (no decoding), for token estimates; a damaged header leaves it out.
      const size = imageDimensions(data);
      return { row: { ...row, image: { mime: sniffed.mime, data, ...(size ?? {}) } }, held };
    }

    try {
      for await (const out of mapOrdered(source, o.concurrency, encodeOne, options?.signal)) {
        if (out.reject) {
          await o.onReject(out.reject);
          continue;
        }
        // Passed on: from here the image counts against the downstream stages' bound, not ours.
        budget.release(out.held);
        yield out.row;
      }
    } finally {
      await (pool as FileReaderPool | null)?.close();
    }
  };
}
