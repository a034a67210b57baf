import { createHash } from 'node:crypto';
import path from 'node:path';
import type { BuildOptions } from '../build.js';
import { jobMapping } from '../../core/dataset/mapping.js';
import { formatOf } from '../../core/dataset/formats.js';

/** What {@link jobSettings} reads: the build's options (submit's are a superset), of the provider only its name. */
export type JobSettingsInput = Omit<BuildOptions, 'provider' | 'output' | 'outDir' | 'overwrite' | 'datasetStream'> & {
  provider: { name: string };
  /** The job's own dataset when `dataset` is a resubmission's file (submit.ts). */
  jobDataset?: string;
};

/**
 * A digest of everything that shapes the requests: a manifest belongs to one job, and a re-run
 * with another prompt, model or budget must not be mistaken for a resume.
 */
export function jobConfigDigest(options: JobSettingsInput): string {
  return digestOf(jobSettings(options));
}

/** The digest of settings as {@link jobSettings} gives them (or as a manifest recorded them). */
export function digestOf(settings: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(settings)).digest('hex');
}

/**
 * Everything that shapes the requests, as a plain object in a fixed key order (unset settings
 * left out): what a job's manifest records and its digest is taken of.
 */
export function jobSettings(options: JobSettingsInput): Record<string, unknown> {
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
    // The dataset's format and fields (absent for JSONL with the default fields: older digests stay).
    mapping: jobMapping(formatOf(dataset, options.format), options.mapping),
  };
  return JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
}
