import { readFile } from 'node:fs/promises';
import { BatchExplainError } from '../../errors.js';

/** USD per million tokens, at Batch API prices (half the synchronous price, on OpenAI and Azure Global Batch). */
export interface ModelPrice {
  input: number;
  output: number;
}

/** A price table: model name (or its prefix) → price. */
export type PriceTable = Record<string, ModelPrice>;

/**
 * When {@link BATCH_PRICES} was written down. Prices change: check the provider's page
 * (https://openai.com/api/pricing, Azure's "Azure OpenAI Service pricing") and pass your own
 * with `--prices FILE`.
 */
export const PRICES_AS_OF = '2026-03';

/**
 * OpenAI's list prices per million tokens as published on its pricing page in March 2026 (as
 * reported by deploybase.ai/articles/openai-pricing, March 2026), halved for the Batch API's 50%
 * discount. Azure's Global Batch deployments are priced the same way (half of Global Standard).
 * Matched by the longest name that starts the model's (`gpt-4o-2024-08-06` → `gpt-4o`).
 */
export const BATCH_PRICES: PriceTable = {
  'gpt-4o': { input: 1.25, output: 5 },
  'gpt-4o-mini': { input: 0.075, output: 0.3 },
  'gpt-4.1': { input: 1, output: 4 },
  'gpt-4.1-mini': { input: 0.2, output: 0.8 },
  'gpt-4.1-nano': { input: 0.05, output: 0.2 },
  'gpt-5': { input: 0.625, output: 5 },
  'gpt-5-mini': { input: 0.125, output: 1 },
  'gpt-5-nano': { input: 0.025, output: 0.2 },
  o3: { input: 1, output: 4 },
  'o3-mini': { input: 0.55, output: 2.2 },
  'o4-mini': { input: 0.55, output: 2.2 },
};

/** The price of `model`: the entry whose name is the longest prefix of it (names compared in lower case), or null. */
export function priceFor(model: string, table: PriceTable = BATCH_PRICES): { name: string; price: ModelPrice } | null {
  const wanted = model.toLowerCase();
  let best: string | null = null;
  for (const name of Object.keys(table)) {
    const key = name.toLowerCase();
    // A prefix that ends where a name part ends: `gpt-4o` prices `gpt-4o-2024-08-06`, not `gpt-4o1`.
    const fits = wanted === key || (wanted.startsWith(key) && /[-_:.@]/.test(wanted[key.length]!));
    if (fits && (best === null || key.length > best.length)) best = name;
  }
  return best === null ? null : { name: best, price: table[best]! };
}

/** USD for `inputTokens` and `outputTokens` at `price`. */
export function costOf(inputTokens: number, outputTokens: number, price: ModelPrice): number {
  return (inputTokens * price.input + outputTokens * price.output) / 1_000_000;
}

/**
 * A price file: JSON `{"model": {"input": USD per 1M tokens, "output": USD per 1M tokens}, ...}`,
 * laid over the built-in table (its entries replace or add to it). Every entry is checked; a bad
 * one names the file and the model.
 */
export async function loadPrices(file: string, base: PriceTable = BATCH_PRICES): Promise<PriceTable> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new BatchExplainError('E_OPTION', `--prices ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new BatchExplainError('E_OPTION', `--prices ${file}: expected a JSON object {"model": {"input": ..., "output": ...}}`);
  }
  const table: PriceTable = { ...base };
  for (const [model, entry] of Object.entries(parsed)) {
    const e = entry as Partial<ModelPrice> | null;
    for (const field of ['input', 'output'] as const) {
      const v = e?.[field];
      if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) {
        throw new BatchExplainError('E_OPTION', `--prices ${file}: model "${model}": field "${field}" must be a number of USD per million tokens, got ${JSON.stringify(v)}`);
      }
    }
    table[model] = { input: e!.input!, output: e!.output! };
  }
  return table;
}
