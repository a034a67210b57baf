import sharp from 'sharp';

/** Test images made on the fly: BMPs written by hand (sharp cannot write them), the rest by sharp. */

export type Rgba = [number, number, number, number];

export interface BmpSpec {
  width: number;
  height: number;
  /** Colour of pixel (x, y), y from the top. */
  pixel: (x: number, y: number) => Rgba;
  bpp: 1 | 8 | 16 | 24 | 32;
  topDown?: boolean;
  /** 32 and 16 bits: write colour masks (BI_BITFIELDS) in a V4 header; 32-bit masks include alpha. */
  bitfields?: boolean;
  /** Compression field as written (1 = RLE8), to test refusals. */
  compression?: number;
}

/** A BMP file as common writers make them. Palette BMPs take the distinct colours in order of first use (at most 2^bpp). */
export function makeBmp(spec: BmpSpec): Buffer {
  const { width, height, bpp } = spec;
  const v4 = spec.bitfields === true;
  const headerSize = v4 ? 108 : 40;
  const palette: Rgba[] = [];
  if (bpp <= 8) {
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
      const p = spec.pixel(x, y);
      if (!palette.some((q) => q.every((v, i) => v === p[i]))) palette.push(p);
    }
  }
  const paletteBytes = bpp <= 8 ? 4 * 2 ** bpp : 0;
  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  const offset = 14 + headerSize + paletteBytes;
  const file = Buffer.alloc(offset + stride * height);
  file.write('BM', 0, 'latin1');
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(offset, 10);
  file.writeUInt32LE(headerSize, 14);
  file.writeInt32LE(width, 18);
  file.writeInt32LE(spec.topDown ? -height : height, 22);
  file.writeUInt16LE(1, 26);
  file.writeUInt16LE(bpp, 28);
  file.writeUInt32LE(spec.compression ?? (v4 ? 3 : 0), 30);
  file.writeUInt32LE(stride * height, 34);
  const masks = bpp === 16 ? [0xf800, 0x07e0, 0x001f, 0] : [0x00ff0000, 0x0000ff00, 0x000000ff, 0xff000000];
  if (v4) masks.forEach((m, i) => file.writeUInt32LE(m >>> 0, 54 + 4 * i));
  palette.forEach(([r, g, b], i) => {
    file[14 + headerSize + 4 * i] = b;
    file[14 + headerSize + 4 * i + 1] = g;
    file[14 + headerSize + 4 * i + 2] = r;
  });
  for (let y = 0; y < height; y++) {
    const row = offset + (spec.topDown ? y : height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const [r, g, b, a] = spec.pixel(x, y);
      if (bpp <= 8) {
        const index = palette.findIndex((q) => q[0] === r && q[1] === g && q[2] === b && q[3] === a);
        const bit = x * bpp;
        file[row + (bit >> 3)]! |= index << (8 - bpp - (bit & 7));
      } else if (bpp === 16) {
        file.writeUInt16LE(((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3), row + x * 2);
      } else if (bpp === 24) {
        file[row + x * 3] = b;
        file[row + x * 3 + 1] = g;
        file[row + x * 3 + 2] = r;
      } else {
        file.writeUInt32LE((((v4 ? a : 0) << 24) | (r << 16) | (g << 8) | b) >>> 0, row + x * 4);
      }
    }
  }
  return file;
}

/** A photo-like image (noise over gradients, so JPEG cannot shrink it to nothing). */
export function noisyRaw(width: number, height: number, seed = 1): Buffer {
  const raw = Buffer.alloc(width * height * 3);
  let s = seed;
  for (let i = 0; i < raw.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const x = (i / 3) % width;
    raw[i] = ((x * 255) / width + (s >>> 26)) & 0xff;
  }
  return raw;
}

export const photo = (width: number, height: number, seed = 1) => sharp(noisyRaw(width, height, seed), { raw: { width, height, channels: 3 } });

/** An image whose top half is red and bottom half blue: where red ends up shows the orientation applied. */
export function halves(width: number, height: number) {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) raw[i * 3 + (i < (width * height) / 2 ? 0 : 2)] = 255;
  return sharp(raw, { raw: { width, height, channels: 3 } });
}

/** An animated GIF (or WEBP) of `frames` frames, each a different flat colour (frame 0 red). */
export async function animatedGif(width: number, height: number, frames: number, format: 'gif' | 'webp' = 'gif'): Promise<Buffer> {
  const colours: Array<[number, number, number]> = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]];
  const raw = Buffer.alloc(width * height * frames * 3);
  for (let f = 0; f < frames; f++) {
    for (let i = 0; i < width * height; i++) raw.set(colours[f % colours.length]!, (f * width * height + i) * 3);
  }
  const image = sharp(raw, { raw: { width, height: height * frames, channels: 3, pageHeight: height } });
  return (format === 'gif' ? image.gif({ delay: 100 }) : image.webp({ delay: 100, lossless: true })).toBuffer();
}

/** Decodes a data URI's image back: format and size as sharp reads them, and the first pixel. */
export async function decoded(image: { mime: string; data: Buffer }) {
  const meta = await sharp(image.data).metadata();
  const { data } = await sharp(image.data).raw().toBuffer({ resolveWithObject: true });
  return { format: meta.format, width: meta.width, height: meta.height, pages: meta.pages ?? 1, exif: meta.exif !== undefined, channels: meta.channels, firstPixel: [...data.subarray(0, 3)] };
}
