import { BatchExplainError } from '../src/errors.js';
import { parseResizeTarget, RESIZE_DEFAULTS, RESIZE_HIGH_DETAIL, RESIZE_LOW_DETAIL, type ResizeTarget } from '../src/core/images/image-resize.js';
import { REMOTE_DEFAULTS } from '../src/core/images/remote-image.js';
import type { BuildOptions } from '../src/pipeline/build.js';
import { bytesFlag } from './flags.js';

/** Flags of image handling (`--resize`, remote images), shared by every command that builds requests. */
export const imageFlags = {
  resize: {
    type: 'string',
    describe: 'Scale images to fit before encoding: LONGxSHORT (2048x768), LONG (1024), or alone: 2048x768, 512 with --detail low. Also converts TIFF/BMP/HEIF and animated GIFs',
  },
  'image-quality': { type: 'number', default: RESIZE_DEFAULTS.quality, describe: 'With --resize: JPEG and WEBP quality of re-encoded images (1-100)' },
  'max-image-pixels': { type: 'number', default: RESIZE_DEFAULTS.maxPixels, describe: 'With --resize: images with more pixels are rejected undecoded' },
  'max-source-image-bytes': bytesFlag('max-source-image-bytes', 'With --resize: larger files are rejected unread (smaller ones are made to fit --max-image-bytes)', 100_000_000),
  'resize-threads': { type: 'number', default: RESIZE_DEFAULTS.concurrency, describe: 'With --resize: images decoded at once (on libuv threads)' },
  'image-urls': { choices: ['reject', 'fetch', 'passthrough'], describe: 'img_path URLs: reject (default), fetch them, or pass them through into the requests' },
  'remote-images': { type: 'boolean', default: false, describe: 'Fetch http(s) img_path URLs (= --image-urls fetch)' },
  'remote-timeout': { type: 'number', default: REMOTE_DEFAULTS.timeoutMs / 1000, describe: 'Seconds one download attempt may take, headers and body' },
  'remote-retries': { type: 'number', default: REMOTE_DEFAULTS.retries, describe: 'Retries of a download after network errors, timeouts, 408, 429 and 5xx' },
  'remote-max-redirects': { type: 'number', default: REMOTE_DEFAULTS.maxRedirects, describe: 'Redirects followed per image' },
  'remote-allow-private': { type: 'boolean', default: false, describe: 'Let URLs reach private, loopback and link-local addresses (refused by default)' },
} as const;

export type ImageArgs = {
  detail?: 'auto' | 'low' | 'high';
  resize?: string;
  'image-quality': number;
  'max-image-pixels': number;
  'max-source-image-bytes': number;
  'resize-threads': number;
  'image-urls'?: 'reject' | 'fetch' | 'passthrough';
  'remote-images': boolean;
  'remote-timeout': number;
  'remote-retries': number;
  'remote-max-redirects': number;
  'remote-allow-private': boolean;
};

/** The resize target of `--resize`: given, or the model's limit for `--detail`. */
export function resizeTargetFromFlag(value: string, detail: ImageArgs['detail']): ResizeTarget {
  if (value.trim() === '' || value.trim().toLowerCase() === 'auto') return detail === 'low' ? RESIZE_LOW_DETAIL : RESIZE_HIGH_DETAIL;
  return parseResizeTarget(value);
}

/** Build options of the image flags. */
export function imageOptionsFromArgs(args: ImageArgs): Pick<BuildOptions, 'resize' | 'imageUrls' | 'remote'> {
  if (args['remote-images'] && args['image-urls'] !== undefined && args['image-urls'] !== 'fetch') {
    throw new BatchExplainError('E_OPTION', `--remote-images fetches URLs; it cannot go with --image-urls ${args['image-urls']}`);
  }
  const imageUrls = args['remote-images'] ? 'fetch' : (args['image-urls'] ?? 'reject');
  const out: Pick<BuildOptions, 'resize' | 'imageUrls' | 'remote'> = {};
  if (imageUrls !== 'reject') out.imageUrls = imageUrls;
  if (imageUrls === 'fetch') {
    out.remote = {
      timeoutMs: args['remote-timeout'] * 1000,
      retries: args['remote-retries'],
      maxRedirects: args['remote-max-redirects'],
      allowPrivate: args['remote-allow-private'],
    };
  }
  if (args.resize !== undefined) {
    out.resize = {
      target: resizeTargetFromFlag(args.resize, args.detail),
      quality: args['image-quality'],
      maxPixels: args['max-image-pixels'],
      maxSourceBytes: args['max-source-image-bytes'],
      concurrency: args['resize-threads'],
    };
  }
  return out;
}
