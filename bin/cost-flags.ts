import { BatchExplainError } from '../src/errors.js';
import type { CostEstimate } from '../src/core/requests/cost-estimate.js';
import { PRICES_AS_OF, type PriceTable } from '../src/core/requests/prices.js';
import { formatBytes, formatCount } from './format.js';

/** Flags of the cost estimate: `estimate`, and `submit`/`run`, which print it first. */
export const costFlags = {
  'expected-output-tokens': {
    type: 'number',
    describe: 'Output tokens expected per request, for the cost (default --max-tokens: an upper bound; ~150-250 for a 100-word answer, Arabic at the top)',
  },
  prices: { type: 'string', describe: 'JSON file of prices, {"model": {"input": USD, "output": USD}} per million tokens at batch rates, over the built-in table' },
} as const;

export type CostArgs = { 'expected-output-tokens'?: number; prices?: string };

/** The cost options from flags: the price file read and checked. */
export async function costOptionsFromArgs(args: CostArgs): Promise<{ expectedOutputTokens?: number; prices?: PriceTable }> {
  const expected = args['expected-output-tokens'];
  if (expected !== undefined && !(Number.isSafeInteger(expected) && expected >= 0)) {
    throw new BatchExplainError('E_OPTION', `--expected-output-tokens: expected an integer of 0 or more, got ${JSON.stringify(expected)}`);
  }
  const { loadPrices } = await import('../src/core/requests/prices.js');
  return {
    ...(expected === undefined ? {} : { expectedOutputTokens: expected }),
    ...(args.prices === undefined ? {} : { prices: await loadPrices(args.prices) }),
  };
}

export function formatUsd(usd: number | null): string {
  if (usd === null) return 'unknown';
  return usd < 0.01 && usd > 0 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

const tokens = (n: number | null) => (n === null ? 'unknown' : formatCount(n));

/** The estimate as a table: a line per shard (up to `maxShards`), the total, and how it was computed. */
export function formatEstimate(e: CostEstimate, maxShards = Infinity): string {
  const header = ['shard', 'requests', 'bytes', 'input tokens', 'output tokens', 'cost'];
  const rows = e.shards.slice(0, maxShards).map((s) => [s.path === '-' ? `#${s.index}` : s.path, formatCount(s.requests), formatCount(s.bytes), tokens(s.inputTokens), formatCount(s.outputTokens), formatUsd(s.cost)]);
  if (e.shards.length > maxShards) rows.push([`… ${e.shards.length - maxShards} more`, '', '', '', '', '']);
  rows.push(['total', formatCount(e.requests), formatCount(e.bytes), tokens(e.inputTokens), formatCount(e.outputTokens), formatUsd(e.cost)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const price = e.price
    ? `${e.model} priced as ${e.price.name}: $${e.price.price.input} input, $${e.price.price.output} output per million tokens (Batch API rates of ${PRICES_AS_OF}; --prices FILE for yours)`
    : `${e.model}: no price known (--prices FILE, or --token-model naming the model behind a deployment)`;
  const output = e.outputAtCap
    ? `output counted at --max-tokens, ${formatCount(e.outputTokensPerRequest)} per request: an upper bound (--expected-output-tokens for a closer figure)`
    : `output counted at ${formatCount(e.outputTokensPerRequest)} tokens per request (--expected-output-tokens)`;
  return [line(header), ...rows.map(line), '', `${formatBytes(e.bytes)} of requests; ${price}`, output, ''].join('\n');
}
