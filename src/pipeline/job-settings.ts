import { createHash } from 'node:crypto';
import path from 'node:path';
import type { SubmitOptions } from './submit.js';

/**
 * A digest of everything that shapes the requests: a manifest belongs to one job, and a re-run
 * with another prompt, model or budget must not be mistaken for a resume.
 */
export function jobConfigDigest(options: SubmitOptions): string {
  const { provider, template, textPrefix, model, url, maxTokens, tokenParam, temperature, detail, responseFormat, explanationField, maxBytes, maxRequests, maxShardTokens, tokenModel, maxImageBytes, imageRoot, resize, imageUrls, remote, confine } = options;
  const dataset = options.jobDataset ?? options.dataset;
  const config = {
    dataset: dataset === '-' ? '-' : path.resolve(dataset),
    provider: provider.name,
    template,
    textPrefix,
    model,
    url,
    maxTokens,
    tokenParam,
    temperature,
    detail,
    responseFormat,
    explanationField,
    maxBytes,
    maxRequests,
    // Shape the shards only when set; left out (undefined), older manifests keep their digest.
    maxShardTokens,
    tokenModel: maxShardTokens === undefined ? undefined : tokenModel,
    maxImageBytes,
    imageRoot: imageRoot === undefined ? undefined : path.resolve(imageRoot),
    // What changes the images sent or the rows rejected (how fast or how often, not).
    resize: resize === undefined ? undefined : { target: resize.target, quality: resize.quality, maxPixels: resize.maxPixels },
    imageUrls: imageUrls === undefined || imageUrls === 'reject' ? undefined : imageUrls,
    allowPrivate: imageUrls === 'fetch' && remote?.allowPrivate ? true : undefined,
    confine: confine ? true : undefined,
  };
  return createHash('sha256').update(JSON.stringify(config)).digest('hex');
}
