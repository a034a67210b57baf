import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkImageComplete, sniffImageFormat } from '../../../src/core/images/image-format.js';

const fixture = (name: string) => readFileSync(new URL(`../../../fixtures/images/${name}`, import.meta.url));

describe('sniffImageFormat', () => {
  it.each([
    ['banner.jpg', 'image/jpeg'],
    ['face.png', 'image/png'],
    ['bubble.webp', 'image/webp'],
    ['chart.gif', 'image/gif'],
    ['screenshot.jpg', 'image/png'],
  ])('%s is %s from its bytes', (name, mime) => {
    const result = sniffImageFormat(fixture(name));
    expect(result).toMatchObject({ ok: true, mime });
  });

  it.each([
    ['icon.bmp', /BMP is not accepted/],
    ['not-an-image.png', /HTML text is not accepted/],
    ['empty.png', /empty/],
  ])('refuses %s', (name, reason) => {
    const result = sniffImageFormat(fixture(name));
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toMatch(reason);
  });

  it('names TIFF and HEIC, and shows the first bytes of anything unknown', () => {
    expect(sniffImageFormat(Buffer.from('II*\0abcdefghijkl', 'latin1'))).toMatchObject({ ok: false, reason: expect.stringMatching(/TIFF/) });
    expect(sniffImageFormat(Buffer.from('\0\0\0\x18ftypheic\0\0\0\0', 'latin1'))).toMatchObject({ ok: false, reason: expect.stringMatching(/HEIC/) });
    expect(sniffImageFormat(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9]))).toMatchObject({ ok: false, reason: expect.stringMatching(/01 02 03 04 05 06 07 08/) });
  });

  it('does not take a short prefix of a signature for the format', () => {
    expect(sniffImageFormat(Buffer.from([0xff, 0xd8])).ok).toBe(false);
    expect(sniffImageFormat(Buffer.from('RIFF\0\0\0\0WAVE', 'latin1')).ok).toBe(false);
  });
});

describe('checkImageComplete', () => {
  it('accepts every whole fixture image', () => {
    for (const [name, format] of [['banner.jpg', 'jpeg'], ['face.png', 'png'], ['bubble.webp', 'webp'], ['chart.gif', 'gif']] as const) {
      expect(checkImageComplete(format, fixture(name)), name).toBeNull();
    }
  });

  it('finds each format cut short', () => {
    for (const [name, format] of [['noisy-photo.jpg', 'jpeg'], ['face.png', 'png'], ['bubble.webp', 'webp'], ['chart.gif', 'gif']] as const) {
      const whole = fixture(name);
      const cut = whole.subarray(0, Math.floor(whole.length * 0.6));
      expect(checkImageComplete(format, cut), name).not.toBeNull();
    }
    expect(checkImageComplete('jpeg', fixture('truncated.jpg'))).toMatch(/end-of-image/);
  });
});
