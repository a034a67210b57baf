import { optionError } from '../errors.js';
import { FileReaderPool, readFileHere, type FileReadResult } from '../core/io/file-reader.js';
import { checkImageComplete, sniffImageFormat } from '../core/images/image-format.js';
import { imageResizer, loadSharp, outputBound, RESIZE_DEFAULTS, type ImageResizeOptions } from '../core/images/image-resize.js';
import { imageDimensions } from '../core/images/image-dimensions.js';
import { mapOrdered } from '../core/flow/map-ordered.js';
import { positiveInteger } from '../core/flow/options.js';
import { OrderedBudget, type BudgetTicket } from '../core/flow/ordered-budget.js';
import { remoteImageFetcher, type RemoteImageFetcher, type RemoteImageOptions } from '../core/images/remote-image.js';
import type { DatasetRow, EncodedImage, OnReject, Reject, ResolvedImage, Stage } from '../types.js';

export interface EncodeImageOptions {
  onReject: OnReject;
  /** Dataset name for rejects. */
  file?: string;
  /** Images requested ahead of the one being passed on. Default 8 (raise it for remote images, whose latency it hides). */
  concurrency?: number;
  /**
   * Reader threads, each reading one file at a time: the I/O parallelism. Default 0: files are read
   * on the main thread with synchronous calls, the fastest on local disks and the page cache (a
   * thread hand-off costs more than reading a 150 KB image there). Use 4–16 for network storage
   * (NFS, Lustre), where each open waits milliseconds.
   */
  readers?: number;
  /** Larger images are rejected (without `resize`: unread). Default 20,000,000 (Azure's 20 MB per image). */
  maxImageBytes?: number;
  /**
   * Reads a whole file. Default: the reader threads. Replace it to read images from elsewhere
   * (an archive, an object store) or to observe reads in tests.
   */
  readFile?: (path: string, maxBytes: number) => Promise<FileReadResult>;
  /**
   * Bytes of images read ahead and not yet passed on. Default 64 MiB. With the single image each
   * later stage holds, the stage's worst case is `maxBytesInFlight + 3 × maxImageBytes`.
   */
  maxBytesInFlight?: number;
  /**
   * Scale images to fit `target`, convert the formats the API refuses (BMP, TIFF, HEIF/AVIF;
   * animated GIF → its first frame), apply EXIF orientation and strip metadata, with sharp
   * (an optional dependency, loaded only then). An image over `maxImageBytes` is made smaller
   * instead of rejected. Off by default: images are sent as read.
   */
  resize?: Omit<ImageResizeOptions, 'maxImageBytes'> & {
    /** With `resize`, files up to this size are read (and then made to fit `maxImageBytes`). Default 100,000,000. */
    maxSourceBytes?: number;
  };
  /** How rows with `remote: 'fetch'` (from resolveImage) are downloaded. Default: {@link REMOTE_DEFAULTS}, public addresses only. */
  remote?: Omit<RemoteImageOptions, 'maxBytes'>;
}

const DEFAULTS = {
  concurrency: 8,
  readers: 0,
  maxImageBytes: 20_000_000,
  maxBytesInFlight: 64 * 1024 * 1024,
};
const DEFAULT_MAX_SOURCE_BYTES = 100_000_000;

type Encoded<T> = { ticket: BudgetTicket; row: T; reject?: undefined } | { ticket: BudgetTicket; row?: undefined; reject: Reject };

/**
 * Stage: rows with `imageFile` and `imageBytes` (or embedded `imageData`) → rows with `image`, a {@link DataUri} whose
 * MIME type is sniffed from the bytes (JPEG, PNG, WEBP, GIF) and whose `width` and `height` are
 * those of the image as sent: read from its header, or with `resize` after orientation and scaling
 * (token estimates use them). Rows whose image is a URL (`remote`) are downloaded (`fetch`) or
 * carry the URL as `image` (`passthrough`). Rejects: empty file, over `maxImageBytes`, another
 * format (named when known: BMP, TIFF, HEIC...), truncated file, read error; with `resize`, an
 * image that cannot be decoded (E_IMAGE_DECODE); for remote images, E_REMOTE_FETCH and
 * E_REMOTE_REFUSED. Files are read on the main thread, or by `readers` threads
 * (see `core/file-reader.ts`); sharp works on libuv's threads, `resize.concurrency` images at once.
 *
 * Order is kept. Memory: at most `concurrency` images requested and `maxBytesInFlight` bytes held
 * (read, downloaded, and with `resize` the output's bound) beyond the one next to be passed on,
 * which never waits; with `resize`, plus the decoding working set of `resize.concurrency` images.
 */
export function encodeImage<T extends DatasetRow & ResolvedImage>(options: EncodeImageOptions): Stage<T, T & EncodedImage> {
  if (typeof options?.onReject !== 'function') throw optionError('onReject', options?.onReject, 'a function');
  const o = { ...DEFAULTS, ...options };
  positiveInteger('concurrency', o.concurrency);
  if (!Number.isSafeInteger(o.readers) || o.readers < 0) throw optionError('readers', o.readers, 'an integer ≥ 0');
  positiveInteger('maxImageBytes', o.maxImageBytes);
  positiveInteger('maxBytesInFlight', o.maxBytesInFlight);
  const resize = o.resize && { ...RESIZE_DEFAULTS, maxSourceBytes: Math.max(DEFAULT_MAX_SOURCE_BYTES, o.maxImageBytes), ...o.resize };
  if (resize) {
    positiveInteger('resize.target.maxSide', resize.target?.maxSide);
    if (resize.target.minSide !== undefined) positiveInteger('resize.target.minSide', resize.target.minSide);
    if (!(Number.isInteger(resize.quality) && resize.quality >= 1 && resize.quality <= 100)) throw optionError('resize.quality', resize.quality, 'an integer from 1 to 100');
    positiveInteger('resize.maxPixels', resize.maxPixels);
    positiveInteger('resize.concurrency', resize.concurrency);
    positiveInteger('resize.maxSourceBytes', resize.maxSourceBytes);
  }
  if (o.remote) {
    const r = o.remote;
    if (r.timeoutMs !== undefined && !(r.timeoutMs > 0)) throw optionError('remote.timeoutMs', r.timeoutMs, 'a positive number of ms');
    for (const key of ['retries', 'maxRedirects'] as const) {
      if (r[key] !== undefined && !(Number.isSafeInteger(r[key]) && r[key] >= 0)) throw optionError(`remote.${key}`, r[key], 'an integer ≥ 0');
    }
  }
  /** Largest file read: with `resize`, a larger image is read and made to fit. */
  const readLimit = resize ? resize.maxSourceBytes : o.maxImageBytes;
  const readLimitName = resize ? '--max-source-image-bytes' : '--max-image-bytes';
  const base = o.file === undefined ? {} : { file: o.file };

  return async function* encodeImageStage(source, options) {
    const budget = new OrderedBudget(o.maxBytesInFlight);
    const resizer = resize ? imageResizer(await loadSharp(), { ...resize, maxImageBytes: o.maxImageBytes }) : null;
    const reserveOutput = resize ? outputBound(resize.target, o.maxImageBytes) : 0;
    let pool: FileReaderPool | null = null;
    let fetcher: Promise<RemoteImageFetcher> | null = null;

    async function encodeOne(row: T, signal: AbortSignal): Promise<Encoded<T & EncodedImage>> {
      // Taken before any await: tickets follow input order.
      const ticket = budget.ticket();
      const reject = (code: Reject['code'], message: string) => {
        ticket.release(ticket.held);
        return { ticket, reject: { ...base, line: row.line, id: row.id, stage: 'encodeImage', code, message } };
      };
      if (row.remote === 'passthrough') return { ticket, row: { ...row, image: row.imageFile } };
      const tooLarge = (size: number) => reject('E_IMAGE_TOO_LARGE', `image ${row.imageFile} is ${size} bytes, over ${readLimitName} ${readLimit}`);
      let data: Buffer;
      if (row.remote === 'fetch') {
        const fetch = await (fetcher ??= remoteImageFetcher({ ...o.remote, maxBytes: readLimit }));
        const got = await fetch.fetch(row.imageFile, (bytes) => ticket.holdExactly(Math.max(bytes, ticket.held), signal), signal);
        if (!got.ok) return reject(got.code, `image ${row.imageFile}: ${got.message}`);
        data = got.data;
        if (data.length === 0) return reject('E_IMAGE_EMPTY', `image ${row.imageFile} is empty (0 bytes)`);
      } else if (row.imageData !== undefined) {
        // Embedded in the dataset (Parquet): already in memory, counted against the budget all the same.
        if (row.imageData.length === 0) return reject('E_IMAGE_EMPTY', `${row.imageFile} is empty (0 bytes)`);
        if (row.imageData.length > readLimit) return tooLarge(row.imageData.length);
        await ticket.acquire(row.imageData.length + reserveOutput, signal);
        data = Buffer.from(row.imageData.buffer, row.imageData.byteOffset, row.imageData.byteLength);
      } else {
        if (row.imageBytes === 0) return reject('E_IMAGE_EMPTY', `image ${row.imageFile} is empty (0 bytes)`);
        if (row.imageBytes > readLimit) return tooLarge(row.imageBytes);
        // With resize, the output's bound too: a row read is a row that can be resized.
        await ticket.acquire(Math.max(row.imageBytes, 1) + reserveOutput, signal);
        const read =
          o.readFile ??
          (o.readers === 0 ? async (path: string, max: number) => readFileHere(path, max) : (path: string, max: number) => (pool ??= new FileReaderPool(o.readers)).read(path, max));
        const result = await read(row.imageFile, readLimit);
        if (!result.ok) {
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
        data = result.data;
      }
      const sniffed = sniffImageFormat(data);
      const problem = sniffed.ok ? checkImageComplete(sniffed.format, data) : sniffed.reason;
      if (sniffed.ok && problem) return reject('E_IMAGE_TRUNCATED', `image ${row.imageFile} is truncated: ${problem}`);
      if (!resizer) {
        if (!sniffed.ok) return reject('E_IMAGE_FORMAT', `image ${row.imageFile}: ${problem}${sniffed.convertible ? '; --resize converts it' : ''}`);
        // The size from the header (no decoding), for token estimates; a damaged header leaves it out.
        return { ticket, row: { ...row, image: { mime: sniffed.mime, data, ...(imageDimensions(data) ?? {}) } } };
      }
      if (!sniffed.ok && !sniffed.convertible) return reject('E_IMAGE_FORMAT', `image ${row.imageFile}: ${problem}`);
      if (row.remote === 'fetch') await ticket.acquire(reserveOutput, signal);
      const out = await resizer(data, sniffed.ok ? { format: sniffed.format } : { convertible: sniffed.convertible! }, signal);
      if (!out.ok) return reject(out.code, `image ${row.imageFile}: ${out.message}`);
      // The source is dropped: from here the row holds its output only.
      ticket.release(ticket.held - out.data.length);
      return { ticket, row: { ...row, image: { mime: out.mime, data: out.data, width: out.width, height: out.height } } };
    }

    try {
      for await (const out of mapOrdered(source, o.concurrency, encodeOne, options?.signal)) {
        // Passed on or rejected: from here the image counts against the downstream stages' bound, not ours.
        out.ticket.finish();
        if (out.reject) {
          await o.onReject(out.reject);
          continue;
        }
        yield out.row;
      }
    } finally {
      await (pool as FileReaderPool | null)?.close();
      await (fetcher as Promise<RemoteImageFetcher> | null)?.then((f) => f.close(), () => {});
    }
  };
}
