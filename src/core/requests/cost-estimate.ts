import { BatchExplainError } from '../../errors.js';
import { nonNegativeInteger } from '../flow/options.js';
import { costOf, priceFor, BATCH_PRICES, type ModelPrice, type PriceTable } from './prices.js';
import type { ShardRecord } from '../../types.js';

export interface CostEstimateOptions {
  /** The model (or the model behind an Azure deployment) whose price applies. */
  model: string;
  /** The requests' answer token cap (`max_tokens`): the output bound when no expectation is given. */
  maxTokens: number;
  /** Output tokens expected per request (e.g. ~200 for a 100-word answer). Default `maxTokens`: an upper bound. */
  expectedOutputTokens?: number;
  /** Default {@link BATCH_PRICES}. */
  prices?: PriceTable;
}

export interface ShardCost {
  path: string;
  index: number;
  requests: number;
  bytes: number;
  /** Estimated input tokens (null for a shard built without estimates). */
  inputTokens: number | null;
  outputTokens: number;
  /** USD; null when the model has no price or the input tokens are unknown. */
  cost: number | null;
}

export interface CostEstimate {
  shards: ShardCost[];
  requests: number;
  bytes: number;
  inputTokens: number | null;
  outputTokens: number;
  cost: number | null;
  model: string;
  /** The price table entry used, or null for a model the table does not know. */
  price: { name: string; price: ModelPrice } | null;
  outputTokensPerRequest: number;
  /** Output counted at `maxTokens` (no expectation given): the cost is an upper bound. */
  outputAtCap: boolean;
}

/**
 * Requests, bytes, tokens and cost of built shards, per shard and in total. Pure: the input
 * tokens are the ones the build estimated per request (text through the model's tokenizer,
 * images from their dimensions), the output tokens `expectedOutputTokens` (or the cap) per
 * request, the price the table's entry for the model at Batch API rates.
 */
export function estimateCost(shards: readonly ShardRecord[], options: CostEstimateOptions): CostEstimate {
  const outputTokensPerRequest = nonNegativeInteger('expectedOutputTokens', options.expectedOutputTokens ?? options.maxTokens);
  const price = priceFor(options.model, options.prices ?? BATCH_PRICES);
  const priced = (input: number | null, output: number) => (price === null || input === null ? null : costOf(input, output, price.price));
  const perShard = shards.map((s): ShardCost => {
    const inputTokens = s.input_tokens ?? null;
    const outputTokens = s.rows * outputTokensPerRequest;
    return { path: s.path, index: s.index, requests: s.rows, bytes: s.bytes, inputTokens, outputTokens, cost: priced(inputTokens, outputTokens) };
  });
  const inputTokens = perShard.every((s) => s.inputTokens !== null) ? perShard.reduce((n, s) => n + s.inputTokens!, 0) : null;
  const outputTokens = perShard.reduce((n, s) => n + s.outputTokens, 0);
  return {
    shards: perShard,
    requests: perShard.reduce((n, s) => n + s.requests, 0),
    bytes: perShard.reduce((n, s) => n + s.bytes, 0),
    inputTokens,
    outputTokens,
    cost: priced(inputTokens, outputTokens),
    model: options.model,
    price,
    outputTokensPerRequest,
    outputAtCap: options.expectedOutputTokens === undefined,
  };
}

/** Throws `E_MAX_COST` when the estimate passes `maxCost` USD, or cannot be priced at all. */
export function checkMaxCost(estimate: CostEstimate, maxCost: number): void {
  if (estimate.cost === null) {
    const why = estimate.price === null ? `the price of ${estimate.model} is unknown (give it with --prices FILE, or name the priced model with --token-model)` : 'input tokens were not estimated';
    throw new BatchExplainError('E_MAX_COST', `--max-cost ${maxCost}: the cost cannot be estimated: ${why}; nothing was uploaded`);
  }
  if (estimate.cost > maxCost) {
    throw new BatchExplainError(
      'E_MAX_COST',
      `the estimated cost, $${estimate.cost.toFixed(2)}, is over --max-cost ${maxCost}; nothing was uploaded (the shards are kept: run again with a higher --max-cost, or --expected-output-tokens for a closer output estimate, to submit them)`,
    );
  }
}
