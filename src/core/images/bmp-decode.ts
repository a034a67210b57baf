/**
 * BMP to raw pixels, for `--resize` to convert BMPs (sharp's prebuilt libvips has no BMP reader).
 * Reads the common kinds: core, info and V4/V5 headers; 1, 4 and 8-bit palettes; 16, 24 and
 * 32-bit pixels, plain or with bit-field masks; bottom-up and top-down rows. RLE and embedded
 * JPEG/PNG BMPs are refused. Runs on the calling thread (BMPs are rare in datasets; the pixels
 * then go to sharp as raw data). (The `decode-bmp` package was tried: it ignores the pixel-data
 * offset and top-down rows, and makes 32-bit BMPs without alpha fully transparent.)
 */

export interface RawImage {
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA, when the file has an alpha mask and uses it). */
  channels: 3 | 4;
  data: Buffer;
}

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

/** Why a BMP cannot be decoded; `tooLarge` when it is only over the pixel limit. */
export class BmpError extends Error {
  constructor(
    message: string,
    readonly tooLarge = false,
  ) {
    super(message);
  }
}

/** A mask's shift and width, to scale its field to 0–255. */
function field(mask: number): { mask: number; shift: number; max: number } {
  if (mask === 0) return { mask: 0, shift: 0, max: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  let bits = 0;
  while (((mask >>> (shift + bits)) & 1) === 1) bits++;
  return { mask: mask >>> 0, shift, max: 2 ** bits - 1 };
}

/** Decodes a whole BMP file; throws with a reason when it cannot. `maxPixels` is checked before any pixel is allocated. */
export function decodeBmp(file: Buffer, maxPixels: number): RawImage {
  const need = (end: number, what: string) => {
    if (file.length < end) throw new BmpError(`BMP ends inside its ${what}`);
  };
  need(26, 'header');
  if (file.toString('latin1', 0, 2) !== 'BM') throw new BmpError('not a BMP');
  const pixelOffset = file.readUInt32LE(10);
  const headerSize = file.readUInt32LE(14);
  let width: number, rawHeight: number, bpp: number, compression = BI_RGB, colorsUsed = 0;
  if (headerSize === 12) {
    width = file.readUInt16LE(18);
    rawHeight = file.readInt16LE(20);
    bpp = file.readUInt16LE(24);
  } else if (headerSize >= 40) {
    need(14 + 40, 'header');
    width = file.readInt32LE(18);
    rawHeight = file.readInt32LE(22);
    bpp = file.readUInt16LE(28);
    compression = file.readUInt32LE(30);
    colorsUsed = file.readUInt32LE(46);
  } else {
    throw new BmpError(`unknown BMP header of ${headerSize} bytes`);
  }
  const height = Math.abs(rawHeight);
  const topDown = rawHeight < 0;
  if (width <= 0 || height <= 0) throw new BmpError(`BMP of ${width}×${rawHeight} pixels`);
  if (width * height > maxPixels) throw new BmpError(`BMP of ${width}×${height} pixels, over the limit of ${maxPixels}`, true);
  if (compression !== BI_RGB && compression !== BI_BITFIELDS && compression !== BI_ALPHABITFIELDS) {
    throw new BmpError(`compressed BMP (compression ${compression}: RLE, JPEG or PNG) is not supported`);
  }
  if (![1, 4, 8, 16, 24, 32].includes(bpp)) throw new BmpError(`BMP of ${bpp} bits per pixel`);

  // Masks: after an info header, or inside a V2+ header.
  let masks = bpp === 16 ? [0x7c00, 0x03e0, 0x001f, 0] : [0xff0000, 0xff00, 0xff, 0];
  if (compression !== BI_RGB) {
    const count = compression === BI_ALPHABITFIELDS || headerSize >= 56 ? 4 : 3;
    need(54 + 4 * count, 'colour masks');
    masks = [0, 1, 2, 3].map((i) => (i < count ? file.readUInt32LE(54 + 4 * i) : 0));
  } else if (bpp === 32 && headerSize >= 56) {
    masks[3] = file.readUInt32LE(54 + 12);
  }
  const [r, g, b, a] = masks.map(field) as [ReturnType<typeof field>, ReturnType<typeof field>, ReturnType<typeof field>, ReturnType<typeof field>];

  let palette: Buffer | null = null;
  if (bpp <= 8) {
    const entry = headerSize === 12 ? 3 : 4;
    const count = colorsUsed || 2 ** bpp;
    const start = 14 + headerSize + (compression === BI_BITFIELDS && headerSize === 40 ? 12 : 0);
    need(start + count * entry, 'palette');
    palette = Buffer.alloc(256 * 3);
    for (let i = 0; i < Math.min(count, 256); i++) {
      palette[i * 3] = file[start + i * entry + 2]!;
      palette[i * 3 + 1] = file[start + i * entry + 1]!;
      palette[i * 3 + 2] = file[start + i * entry]!;
    }
  }

  const stride = Math.floor((bpp * width + 31) / 32) * 4;
  need(pixelOffset + stride * (height - 1) + Math.ceil((bpp * width) / 8), 'pixels');
  const channels: 3 | 4 = a.max > 0 ? 4 : 3;
  const out = Buffer.allocUnsafe(width * height * channels);
  let anyAlpha = false;
  const scale = (v: number, f: ReturnType<typeof field>) => (f.max === 0 ? 0 : Math.round((((v & f.mask) >>> f.shift) * 255) / f.max));
  for (let y = 0; y < height; y++) {
    const row = pixelOffset + (topDown ? y : height - 1 - y) * stride;
    let o = y * width * channels;
    for (let x = 0; x < width; x++, o += channels) {
      if (palette) {
        const bit = x * bpp;
        const index = (file[row + (bit >> 3)]! >> (8 - bpp - (bit & 7))) & ((1 << bpp) - 1);
        out[o] = palette[index * 3]!;
        out[o + 1] = palette[index * 3 + 1]!;
        out[o + 2] = palette[index * 3 + 2]!;
      } else if (bpp === 24 && compression === BI_RGB) {
        const p = row + x * 3;
        out[o] = file[p + 2]!;
        out[o + 1] = file[p + 1]!;
        out[o + 2] = file[p]!;
      } else {
        const v = bpp === 16 ? file.readUInt16LE(row + x * 2) : bpp === 24 ? file.readUIntLE(row + x * 3, 3) : file.readUInt32LE(row + x * 4);
        out[o] = scale(v, r);
        out[o + 1] = scale(v, g);
        out[o + 2] = scale(v, b);
        if (channels === 4) {
          out[o + 3] = scale(v, a);
          if (out[o + 3] !== 0) anyAlpha = true;
        }
      }
    }
  }
  if (channels === 4 && !anyAlpha) {
    // An alpha mask whose every value is 0: files written that way mean opaque.
    for (let i = 3; i < out.length; i += 4) out[i] = 255;
  }
  return { width, height, channels, data: out };
}
