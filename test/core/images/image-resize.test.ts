import { describe, expect, it } from 'vitest';
import { fitDimensions, outputBound, parseResizeTarget, RESIZE_HIGH_DETAIL, RESIZE_LOW_DETAIL } from '../../../src/core/images/image-resize.js';

describe('fitDimensions', () => {
  it.each([
    // OpenAI's worked examples for high detail: 1024² → 768², 2048×4096 → 768×1536.
    [1024, 1024, RESIZE_HIGH_DETAIL, 768, 768],
    [2048, 4096, RESIZE_HIGH_DETAIL, 768, 1536],
    [4000, 3000, RESIZE_HIGH_DETAIL, 1024, 768],
    // A panorama: the long side rule bites first.
    [8000, 1000, RESIZE_HIGH_DETAIL, 2048, 256],
    [1920, 1080, RESIZE_LOW_DETAIL, 512, 288],
    [600, 400, { maxSide: 300 }, 300, 200],
  ])('%i×%i fits %o as %i×%i', (w, h, target, ew, eh) => {
    expect(fitDimensions(w, h, target)).toMatchObject({ width: ew, height: eh });
  });

  it('never enlarges, and never goes below one pixel', () => {
    expect(fitDimensions(500, 300, RESIZE_HIGH_DETAIL)).toEqual({ width: 500, height: 300, scale: 1 });
    expect(fitDimensions(10, 100_000, { maxSide: 1000 })).toMatchObject({ width: 1, height: 1000 });
  });
});

describe('parseResizeTarget', () => {
  it('reads LONGxSHORT and LONG', () => {
    expect(parseResizeTarget('2048x768')).toEqual({ maxSide: 2048, minSide: 768 });
    expect(parseResizeTarget(' 1024 ')).toEqual({ maxSide: 1024 });
    expect(parseResizeTarget('1024X1024')).toEqual({ maxSide: 1024, minSide: 1024 });
  });

  it.each(['', 'big', '0', '768x2048', '2048x0', '-5', '1e3'])('refuses %j with a coded error quoting it', (value) => {
    expect(() => parseResizeTarget(value)).toThrow(expect.objectContaining({ code: 'E_OPTION', message: expect.stringContaining(JSON.stringify(value)) }));
  });
});

describe('outputBound', () => {
  it('is 4 bytes a pixel of the largest image the target allows, within the image cap', () => {
    expect(outputBound(RESIZE_HIGH_DETAIL, 20_000_000)).toBe(2048 * 768 * 4 + 65_536);
    expect(outputBound(RESIZE_LOW_DETAIL, 20_000_000)).toBe(512 * 512 * 4 + 65_536);
    expect(outputBound(RESIZE_HIGH_DETAIL, 1_000_000)).toBe(1_000_000);
  });
});
