import { describe, expect, it } from 'vitest';
import { BmpError, decodeBmp } from '../../../src/core/images/bmp-decode.js';
import { makeBmp, type Rgba } from '../../helpers/images.js';

/** Four colours in quadrants, so a flipped or shifted row shows. */
const quadrants = (w: number, h: number) => (x: number, y: number): Rgba =>
  y < h / 2 ? (x < w / 2 ? [255, 0, 0, 255] : [0, 255, 0, 255]) : x < w / 2 ? [0, 0, 255, 255] : [255, 255, 255, 255];

function expectPixels(raw: ReturnType<typeof decodeBmp>, pixel: (x: number, y: number) => Rgba, tolerance = 0) {
  for (let y = 0; y < raw.height; y++) {
    for (let x = 0; x < raw.width; x++) {
      const got = [...raw.data.subarray((y * raw.width + x) * raw.channels, (y * raw.width + x + 1) * raw.channels)];
      const want = pixel(x, y).slice(0, raw.channels);
      got.forEach((v, i) => expect(Math.abs(v - want[i]!), `(${x}, ${y}) channel ${i}: ${got} vs ${want}`).toBeLessThanOrEqual(tolerance));
    }
  }
}

describe('decodeBmp', () => {
  // Odd widths exercise row padding.
  it.each([
    [24, false],
    [24, true],
    [32, false],
    [8, false],
    [1, false],
  ] as const)('%i-bit, top-down %s: every pixel where it belongs', (bpp, topDown) => {
    const pixel = bpp === 1 ? (x: number, y: number): Rgba => ((x + y) % 2 ? [255, 255, 255, 255] : [0, 0, 0, 255]) : quadrants(7, 6);
    const raw = decodeBmp(makeBmp({ width: 7, height: 6, bpp, topDown, pixel }), 1e6);
    expect(raw).toMatchObject({ width: 7, height: 6, channels: 3 });
    expectPixels(raw, pixel);
  });

  it('reads 16-bit 5-6-5 bit fields, scaled to 0–255', () => {
    const raw = decodeBmp(makeBmp({ width: 5, height: 3, bpp: 16, bitfields: true, pixel: quadrants(5, 3) }), 1e6);
    expectPixels(raw, quadrants(5, 3));
  });

  it('keeps the alpha of a 32-bit BMP with an alpha mask, and takes a 32-bit BMP without one as opaque', () => {
    const translucent = (x: number): Rgba => [200, 100, 50, x * 60];
    const withAlpha = decodeBmp(makeBmp({ width: 4, height: 2, bpp: 32, bitfields: true, pixel: translucent }), 1e6);
    expect(withAlpha.channels).toBe(4);
    expectPixels(withAlpha, translucent);
    // BI_RGB, the 4th byte 0 (as most writers leave it): opaque RGB, not invisible.
    const plain = decodeBmp(makeBmp({ width: 4, height: 2, bpp: 32, pixel: () => [10, 20, 30, 0] }), 1e6);
    expect(plain.channels).toBe(3);
    expectPixels(plain, () => [10, 20, 30, 255]);
  });

  it('refuses RLE, truncated pixels, other files and images over the pixel limit (that one marked too large)', () => {
    const rle = makeBmp({ width: 4, height: 4, bpp: 8, compression: 1, pixel: quadrants(4, 4) });
    expect(() => decodeBmp(rle, 1e6)).toThrow(/compressed BMP/);
    const whole = makeBmp({ width: 40, height: 40, bpp: 24, pixel: quadrants(40, 40) });
    expect(() => decodeBmp(whole.subarray(0, whole.length - 200), 1e6)).toThrow(/ends inside its pixels/);
    expect(() => decodeBmp(Buffer.from('GIF89a...............................'), 1e6)).toThrow(/not a BMP/);
    const big = (() => {
      try {
        decodeBmp(whole, 1000);
      } catch (err) {
        return err;
      }
    })();
    expect(big).toBeInstanceOf(BmpError);
    expect(big).toMatchObject({ tooLarge: true, message: expect.stringMatching(/40×40 pixels, over the limit of 1000/) });
  });
});
