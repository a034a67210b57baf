import { createRequire } from 'node:module';
import type { imageSize as ImageSize } from 'image-size';

/** Loaded at the first image (its 26 modules are not for `--help` or `merge` to load). */
let imageSize: typeof ImageSize | null = null;

export interface ImageDimensions {
  width: number;
  height: number;
}

/**
 * Width and height of an image from its header (image-size reads the few bytes that hold them:
 * PNG's IHDR, JPEG's SOF marker, WEBP's VP8/VP8L/VP8X chunk, GIF's screen descriptor). Nothing
 * is decoded. Null when the header does not say (a damaged file): the estimate then assumes the
 * largest image the model looks at.
 */
export function imageDimensions(data: Uint8Array): ImageDimensions | null {
  try {
    imageSize ??= (createRequire(import.meta.url)('image-size') as { imageSize: typeof ImageSize }).imageSize;
    const { width, height } = imageSize(data);
    return width > 0 && height > 0 ? { width, height } : null;
  } catch {
    return null;
  }
}
