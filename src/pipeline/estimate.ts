import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { build, type BuildOptions, type BuildSummary } from './build.js';
import { estimateCost, type CostEstimate, type CostEstimateOptions } from '../core/requests/cost-estimate.js';
import type { PriceTable } from '../core/requests/prices.js';

export interface EstimateOptions extends Omit<BuildOptions, 'outDir' | 'output' | 'overwrite' | 'fsync'> {
  /** Output tokens expected per request. Default the answer cap (`maxTokens`, 4096): an upper bound. */
  expectedOutputTokens?: number;
  /** Price table. Default the built-in Batch API prices. */
  prices?: PriceTable;
  /** Where the rows that could not become requests are listed. Default none kept (counted only). */
  rejectsPath?: string;
}

export interface EstimateSummary {
  build: BuildSummary;
  estimate: CostEstimate;
}

/**
 * dataset → what submitting it would send and cost, with nothing written or uploaded: the
 * build's own stages run (images read, requests built and cut into shards by the same budgets)
 * and every request line is dropped once counted. Input tokens are the build's estimates
 * (tokenizer of the model, image tokens from each image's dimensions); output tokens
 * `expectedOutputTokens` per request; prices from the table, at Batch API rates.
 * Memory: the build's own (one line at a time, bounded image read-ahead).
 */
export async function estimate(options: EstimateOptions): Promise<EstimateSummary> {
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  // Rejects are counted by the sink; its file is thrown away unless asked for.
  const scratch = options.rejectsPath === undefined ? await mkdtemp(path.join(tmpdir(), 'batch-explain-estimate-')) : null;
  try {
    const summary = await build({ ...options, output: discard, rejectsPath: options.rejectsPath ?? path.join(scratch!, 'rejects.jsonl') });
    const costOptions: CostEstimateOptions = {
      model: options.tokenModel ?? options.model,
      maxTokens: options.maxTokens ?? 4096,
      ...(options.expectedOutputTokens === undefined ? {} : { expectedOutputTokens: options.expectedOutputTokens }),
      ...(options.prices === undefined ? {} : { prices: options.prices }),
    };
    return { build: scratch ? { ...summary, rejectsPath: '' } : summary, estimate: estimateCost(summary.shards, costOptions) };
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}
