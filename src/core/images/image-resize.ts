import type { Sharp, SharpConstructor } from 'sharp';
import { BatchExplainError } from '../../errors.js';
import { ByteBudget } from '../flow/byte-budget.js';
import { BmpError, decodeBmp } from './bmp-decode.js';
import { MIME_BY_FORMAT, type ConvertibleFormat } from './image-format.js';
import type { ImageFormat, ImageMime, RejectCode } from '../../types.js';

/**
 * `--resize`: images scaled to fit the model's limits, formats the API refuses converted, EXIF
 * orientation applied and metadata stripped, all with sharp (libvips, on libuv's threads).
 * Pure decisions (`fitDimensions`, `parseResizeTarget`, `outputBound`) are kept apart from the
 * sharp calls so they are tested alone.
 */

export type SharpModule = SharpConstructor;

/** The longest side, and optionally the shortest, an image may have once scaled. */
export interface ResizeTarget {
  maxSide: number;
  minSide?: number;
}

/** OpenAI's `high` detail: fit in 2048×2048, then shortest side 768 (the service scales to this anyway). */
export const RESIZE_HIGH_DETAIL: ResizeTarget = { maxSide: 2048, minSide: 768 };
/** OpenAI's `low` detail: a 512×512 preview. */
export const RESIZE_LOW_DETAIL: ResizeTarget = { maxSide: 512 };

export interface ImageResizeOptions {
  target: ResizeTarget;
  /** JPEG and WEBP quality of re-encoded images, 1–100. Default 85. */
  quality?: number;
  /** Output cap: a larger result is re-encoded at lower quality, then smaller, until it fits. */
  maxImageBytes: number;
  /** Images with more pixels are refused before decoding (decompression bombs). Default 100,000,000. */
  maxPixels?: number;
  /** Images decoded at once (each on a libuv thread). Default 2. */
  concurrency?: number;
}

export const RESIZE_DEFAULTS = { quality: 85, maxPixels: 100_000_000, concurrency: 2 };

export type ResizeOutcome =
  | { ok: true; data: Buffer; mime: ImageMime; width: number; height: number; changed: boolean }
  | { ok: false; code: RejectCode; message: string };

/** `2048x768` (longest × shortest), `1024` (longest only). */
export function parseResizeTarget(value: string): ResizeTarget {
  const m = /^\s*(\d+)\s*(?:[x×]\s*(\d+))?\s*$/i.exec(value);
  const maxSide = m ? Number(m[1]) : NaN;
  const minSide = m?.[2] === undefined ? undefined : Number(m[2]);
  if (!(maxSide >= 1 && maxSide <= 65_535) || (minSide !== undefined && !(minSide >= 1 && minSide <= maxSide))) {
    throw new BatchExplainError('E_OPTION', `--resize: expected LONGxSHORT (e.g. 2048x768) or LONG (e.g. 1024) in pixels, the short side no larger than the long, got ${JSON.stringify(value)}`);
  }
  return minSide === undefined ? { maxSide } : { maxSide, minSide };
}

/** Size of a `width`×`height` image scaled to fit `target`, never enlarged. */
export function fitDimensions(width: number, height: number, target: ResizeTarget): { width: number; height: number; scale: number } {
  const long = Math.max(width, height);
  const short = Math.min(width, height);
  const scale = Math.min(1, target.maxSide / long, target.minSide === undefined ? 1 : target.minSide / short);
  if (scale === 1) return { width, height, scale };
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)), scale };
}

/** Bytes an output can take at most: 4 bytes a pixel of the largest image that fits the target (RGBA PNG), plus headers. */
export function outputBound(target: ResizeTarget, maxImageBytes: number): number {
  const pixels = target.maxSide * Math.min(target.maxSide, target.minSide ?? target.maxSide);
  return Math.min(maxImageBytes, pixels * 4 + 65_536);
}

/** Loads sharp (an optional dependency) for `--resize`, with its operation cache off (a stream of distinct images gains nothing from it and RSS grows). */
export async function loadSharp(): Promise<SharpModule> {
  let sharp: SharpModule;
  try {
    sharp = (await import('sharp')).default;
  } catch (err) {
    throw new BatchExplainError(
      'E_OPTION',
      `--resize needs sharp, an optional dependency that is not installed or does not load here (${(err as Error).message.split('\n')[0]}); install it with: npm install sharp`,
    );
  }
  sharp.cache(false);
  return sharp;
}

const LOSSY: ReadonlySet<ImageFormat> = new Set(['jpeg', 'webp']);
/** Quality floor when shrinking to fit the byte cap; below it the image gets smaller instead. */
const MIN_QUALITY = 40;
const SHRINK_ATTEMPTS = 8;

/**
 * Returns the function that makes an image fit: `input` is a whole file whose format was sniffed
 * (`format` when the API accepts it, `convertible` when not). An image that already fits, is
 * upright, still, and carries no EXIF/XMP/IPTC/text metadata is returned as it is (no
 * generation loss); any other is re-encoded.
 */
export function imageResizer(sharp: SharpModule, options: ImageResizeOptions) {
  const o = { ...RESIZE_DEFAULTS, ...options };
  const slots = new ByteBudget(o.concurrency);

  return async function resize(input: Buffer, kind: { format?: ImageFormat; convertible?: ConvertibleFormat }, signal?: AbortSignal): Promise<ResizeOutcome> {
    const fail = (code: RejectCode, message: string): ResizeOutcome => ({ ok: false, code, message });
    await slots.acquire(1, signal);
    try {
      let open: () => Sharp;
      if (kind.convertible === 'bmp') {
        const raw = decodeBmp(input, o.maxPixels);
        open = () => sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } });
      } else {
        open = () => sharp(input, { limitInputPixels: o.maxPixels, failOn: 'error' });
      }
      // The header only (no pixels are decoded): read without the pixel limit, so an image over it gets a clear reject.
      const meta = await (kind.convertible === 'bmp' ? open() : sharp(input, { limitInputPixels: false })).metadata();
      const pixels = meta.width * (meta.pageHeight ?? meta.height);
      if (pixels > o.maxPixels) return fail('E_IMAGE_TOO_LARGE', `${meta.width}×${meta.pageHeight ?? meta.height} pixels, over --max-image-pixels ${o.maxPixels}`);
      const oriented = meta.autoOrient ?? { width: meta.width, height: meta.height };
      const fit = fitDimensions(oriented.width, oriented.height, o.target);
      const animated = (meta.pages ?? 1) > 1 && (kind.format === 'gif' || kind.format === 'webp');
      const hasMetadata = Boolean(meta.exif || meta.xmp || meta.iptc || meta.comments?.length);
      const upright = (meta.orientation ?? 1) === 1;
      if (kind.format && fit.scale === 1 && !animated && !hasMetadata && upright && input.length <= o.maxImageBytes) {
        return { ok: true, data: input, mime: MIME_BY_FORMAT[kind.format], width: oriented.width, height: oriented.height, changed: false };
      }
      // Accepted formats stay as they are (an animated GIF's first frame becomes a PNG: the API takes no animation); others become PNG with alpha, JPEG without.
      const format: ImageFormat = kind.format ? (animated && kind.format === 'gif' ? 'png' : kind.format) : meta.hasAlpha ? 'png' : 'jpeg';
      let { width, height } = fit;
      let quality = o.quality;
      let last = 0;
      for (let attempt = 0; attempt < SHRINK_ATTEMPTS; attempt++) {
        signal?.throwIfAborted();
        let image = open().autoOrient();
        if (width !== oriented.width || height !== oriented.height) image = image.resize(width, height, { fit: 'fill' });
        const { data, info } = await encode(image, format, quality).toBuffer({ resolveWithObject: true });
        if (data.length <= o.maxImageBytes) return { ok: true, data, mime: MIME_BY_FORMAT[format], width: info.width, height: info.height, changed: true };
        last = data.length;
        if (LOSSY.has(format) && quality > MIN_QUALITY) {
          quality = Math.max(MIN_QUALITY, quality - 15);
        } else {
          // Bytes follow the pixel count: scale the area by the ratio, with a margin.
          const step = Math.min(0.9, Math.sqrt(o.maxImageBytes / data.length) * 0.95);
          width = Math.max(1, Math.floor(width * step));
          height = Math.max(1, Math.floor(height * step));
        }
      }
      return fail('E_IMAGE_TOO_LARGE', `still ${last} bytes after ${SHRINK_ATTEMPTS} smaller encodings, over --max-image-bytes ${o.maxImageBytes}`);
    } catch (err) {
      if (signal?.aborted) throw err;
      if (err instanceof BmpError) return fail(err.tooLarge ? 'E_IMAGE_TOO_LARGE' : 'E_IMAGE_DECODE', err.message);
      return fail('E_IMAGE_DECODE', `cannot be decoded: ${(err as Error).message.split('\n')[0]}`);
    } finally {
      slots.release(1);
    }
  };
}

function encode(image: Sharp, format: ImageFormat, quality: number): Sharp {
  switch (format) {
    case 'jpeg':
      return image.jpeg({ quality });
    case 'webp':
      return image.webp({ quality });
    case 'png':
      return image.png();
    case 'gif':
      return image.gif();
  }
}
