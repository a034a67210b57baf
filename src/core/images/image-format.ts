import type { ImageFormat, ImageMime } from '../../types.js';

/**
 * Image formats from the first bytes of a file. The file name says nothing: scraped datasets
 * hold PNGs named `.jpg`, HTML pages named `.png` and empty files.
 */

export const MIME_BY_FORMAT: Record<ImageFormat, ImageMime> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
};

/** Bytes needed to tell every format below apart. */
export const SNIFF_BYTES = 16;

/** Formats the API refuses that `--resize` can convert (sharp reads TIFF and HEIF/AVIF; BMP is decoded in `core/images/bmp-decode.ts`). */
export type ConvertibleFormat = 'bmp' | 'tiff' | 'heif';

export type SniffResult =
  | { ok: true; format: ImageFormat; mime: ImageMime }
  | { ok: false; reason: string; convertible?: ConvertibleFormat };

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Formats we recognise but the Batch API does not accept, so the message can name them. */
const KNOWN_UNSUPPORTED: Array<[string, (b: Buffer) => boolean, ConvertibleFormat?]> = [
  ['BMP', (b) => ascii(b, 0, 2) === 'BM', 'bmp'],
  ['TIFF', (b) => ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*', 'tiff'],
  ['HEIC/AVIF', (b) => ascii(b, 4, 8) === 'ftyp' && /^(heic|heix|hevc|mif1|msf1|avif|avis)$/.test(ascii(b, 8, 12)), 'heif'],
  ['ICO', (b) => b.length >= 4 && b.readUInt32BE(0) === 0x00000100],
  ['PDF', (b) => ascii(b, 0, 5) === '%PDF-'],
  ['SVG or HTML text', (b) => /^\s*</.test(ascii(b, 0, Math.min(b.length, SNIFF_BYTES)))],
];

function ascii(b: Buffer, start: number, end: number): string {
  return b.length >= end ? b.toString('latin1', start, end) : '';
}

/** Names the format of `head` (the first bytes of a file; at least {@link SNIFF_BYTES} when the file has them). */
export function sniffImageFormat(head: Buffer): SniffResult {
  if (head.length === 0) return { ok: false, reason: 'the file is empty' };
  let format: ImageFormat | undefined;
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) format = 'jpeg';
  else if (head.length >= 8 && head.subarray(0, 8).equals(PNG_SIGNATURE)) format = 'png';
  else if (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a') format = 'gif';
  else if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') format = 'webp';
  if (format) return { ok: true, format, mime: MIME_BY_FORMAT[format] };
  const known = KNOWN_UNSUPPORTED.find(([, test]) => test(head));
  const hex = head.subarray(0, 8).toString('hex').replace(/(..)(?!$)/g, '$1 ');
  return {
    ok: false,
    ...(known?.[2] ? { convertible: known[2] } : {}),
    reason: known
      ? `${known[0]} is not accepted by the API (accepted: JPEG, PNG, WEBP, GIF)`
      : `unknown format (first bytes ${hex}; accepted: JPEG, PNG, WEBP, GIF)`,
  };
}

/** How far from the end a format's closing marker may sit (trailing bytes some tools append). */
const TAIL_WINDOW = 4096;

/**
 * Checks that a whole file of a sniffed format ends as that format must: JPEG with its EOI
 * marker, PNG with IEND, GIF with its trailer, WEBP with the size its RIFF header announces.
 * A truncated download passes the sniffing but fails here. Returns a reason or null.
 */
export function checkImageComplete(format: ImageFormat, data: Buffer): string | null {
  const tail = data.subarray(Math.max(0, data.length - TAIL_WINDOW));
  switch (format) {
    case 'jpeg':
      // In entropy-coded data 0xFF is always followed by 0x00 or a restart marker, so FF D9 is EOI.
      return data.length > 4 && tail.lastIndexOf(Buffer.from([0xff, 0xd9])) !== -1 ? null : 'JPEG without its end-of-image marker';
    case 'png':
      return tail.lastIndexOf('IEND', undefined, 'latin1') !== -1 ? null : 'PNG without its IEND chunk';
    case 'gif':
      return data.length > 13 && data.subarray(Math.max(0, data.length - 16)).includes(0x3b) ? null : 'GIF without its trailer';
    case 'webp': {
      const declared = data.length >= 8 ? data.readUInt32LE(4) + 8 : Infinity;
      return declared <= data.length ? null : `WEBP of ${data.length} bytes whose header announces ${declared}`;
    }
  }
}
