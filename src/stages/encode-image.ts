import { open, type FileHandle } from 'node:fs/promises';
import { optionError } from '../errors.js';
import { ByteBudget } from '../core/byte-budget.js';
import { checkImageComplete, sniffImageFormat } from '../core/image-format.js';
import { mapOrdered } from '../core/map-ordered.js';
import { positiveInteger } from '../core/options.js';
import type { DatasetRow, EncodedImage, OnReject, Outcome, Reject, ResolvedImage, Stage } from '../types.js';

export interface EncodeImageOptions {
  onReject: OnReject;
  /** Dataset name for rejects. */
  file?: string;
  /** Image files read at once. Default 8: reads run in libuv's pool, 8 in flight is ~2× one at a time here. */
  concurrency?: number;
  /** Larger files are rejected unread. Default 20,000,000 (Azure's 20 MB per image). */
  maxImageBytes?: number;
  /**
   * Bytes of images read ahead and not yet passed on. Default 64 MiB. With the single image each
   * later stage holds, the stage's worst case is `maxBytesInFlight + 2 × maxImageBytes`.
   */
  maxBytesInFlight?: number;
}

const DEFAULTS = {
  concurrency: 8,
  maxImageBytes: 20_000_000,
  maxBytesInFlight: 64 * 1024 * 1024,
};

/**
 * Stage: rows with `imageFile` → rows with `image`, a {@link DataUri} whose MIME type is sniffed
 * from the bytes (JPEG, PNG, WEBP, GIF). Rejects: empty file, over `maxImageBytes`, another
 * format (named when known: BMP, TIFF, HEIC...), truncated file, read error.
 *
 * Order is kept. Memory: at most `concurrency` reads in flight and at most `maxBytesInFlight`
 * bytes read ahead (one image larger than that is read alone).
 */
export function encodeImage<T extends DatasetRow & ResolvedImage>(options: EncodeImageOptions): Stage<T, T & EncodedImage> {
  if (typeof options?.onReject !== 'function') throw optionError('onReject', options?.onReject, 'a function');
  const o = { ...DEFAULTS, ...options };
  positiveInteger('concurrency', o.concurrency);
  positiveInteger('maxImageBytes', o.maxImageBytes);
  positiveInteger('maxBytesInFlight', o.maxBytesInFlight);
  const base = o.file === undefined ? {} : { file: o.file };

  return async function* encodeImageStage(source, options) {
    const budget = new ByteBudget(o.maxBytesInFlight);
    // Budget is taken in input order: if a later row could take it first, the row at the head
    // (the only one that can be passed on) might wait forever behind rows that wait for it.
    let turn: Promise<void> = Promise.resolve();

    async function encodeOne(row: T, signal: AbortSignal): Promise<Outcome<T & EncodedImage>> {
      const reject = (code: Reject['code'], message: string) => ({
        reject: { ...base, line: row.line, id: row.id, stage: 'encodeImage', code, message },
      });
      const myTurn = turn;
      let passTurn!: () => void;
      turn = new Promise((resolve) => (passTurn = resolve));

      let handle: FileHandle | undefined;
      let size = 0;
      let refused: ReturnType<typeof reject> | undefined;
      try {
        try {
          handle = await open(row.imageFile, 'r');
          size = (await handle.stat()).size;
        } catch (err) {
          refused = readFailure(err);
        }
        if (!refused && size === 0) refused = reject('E_IMAGE_EMPTY', `image ${row.imageFile} is empty (0 bytes)`);
        if (!refused && size > o.maxImageBytes) {
          refused = reject('E_IMAGE_TOO_LARGE', `image ${row.imageFile} is ${size} bytes, over --max-image-bytes ${o.maxImageBytes}`);
        }
        await myTurn;
        if (!refused) await budget.acquire(size, signal);
      } catch (err) {
        await handle?.close();
        throw err; // aborted
      } finally {
        passTurn();
      }
      if (refused) {
        await handle?.close();
        return refused;
      }

      let data: Buffer;
      try {
        data = await readExactly(handle!, size);
      } catch (err) {
        budget.release(size);
        if (signal.aborted) throw err;
        return readFailure(err);
      } finally {
        await handle!.close();
      }
      const sniffed = sniffImageFormat(data);
      const problem = sniffed.ok ? checkImageComplete(sniffed.format, data) : sniffed.reason;
      if (!sniffed.ok || problem) {
        budget.release(data.length);
        return sniffed.ok
          ? reject('E_IMAGE_TRUNCATED', `image ${row.imageFile} is truncated: ${problem}`)
          : reject('E_IMAGE_FORMAT', `image ${row.imageFile}: ${problem}`);
      }
      return { row: { ...row, image: { mime: sniffed.mime, data } } };

      function readFailure(err: unknown) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return reject('E_IMAGE_NOT_FOUND', `image not found: ${row.imageFile}`);
        if (code === 'ESHRANK') return reject('E_IMAGE_UNREADABLE', `image ${row.imageFile} changed while read: ${(err as Error).message}`);
        return reject('E_IMAGE_UNREADABLE', `image ${row.imageFile} cannot be read (${code ?? (err as Error).message})`);
      }
    }

    for await (const out of mapOrdered(source, o.concurrency, encodeOne, options?.signal)) {
      if (out.reject) {
        await o.onReject(out.reject);
        continue;
      }
      // Passed on: from here the image counts against the downstream stages' bound, not ours.
      budget.release(out.row.image.data.length);
      yield out.row;
    }
  };
}

/** Reads a whole file of known size; a file that shrank meanwhile is an error, not a short image. */
async function readExactly(handle: FileHandle, size: number): Promise<Buffer> {
  const data = Buffer.allocUnsafe(size);
  let filled = 0;
  while (filled < size) {
    const { bytesRead } = await handle.read(data, filled, size - filled, filled);
    if (bytesRead === 0) throw Object.assign(new Error(`file shrank while read (${filled} of ${size} bytes)`), { code: 'ESHRANK' });
    filled += bytesRead;
  }
  return data;
}
