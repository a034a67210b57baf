import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { estimate } from '../../src/pipeline/estimate.js';
import { checkMaxCost, estimateCost } from '../../src/core/requests/cost-estimate.js';
import { loadPrices, priceFor } from '../../src/core/requests/prices.js';
import { loadPromptFile } from '../../src/core/requests/prompt.js';
import { tempDir } from '../helpers/server.js';
import type { ShardRecord } from '../../src/types.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const dataset = path.join(fixtures, 'memes.jsonl');

/**
 * The input tokens of the fixture dataset computed by hand, independently of the estimator: per
 * row 4 (the message) + 3 (the reply's priming) + the prompt through o200k_base, whole, + the
 * image. Every fixture image is at most 160×120 px: one 512-px tile, 85 + 170 = 255 tokens with
 * gpt-4o at high (or auto) detail, 85 at low; with gpt-4o-mini 2,833 + 5,667 = 8,500.
 */
async function handCount(imageTokens: number): Promise<number> {
  const { template } = await loadPromptFile('armeme_explanation_english');
  const rows = (await readFile(dataset, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  let total = 0;
  for (const row of rows) {
    const label = Array.isArray(row.class_label) ? row.class_label.join(', ') : row.class_label;
    // A row without text gets the prompt alone (no dangling prefix).
    const head = template.split('{}').join(label);
    const prompt = row.text ? `${head}\nText extracted: ${row.text}` : head;
    total += 4 + 3 + encode(prompt).length + imageTokens;
  }
  return total;
}

const base = async () => ({ dataset, template: (await loadPromptFile('armeme_explanation_english')).template, model: 'gpt-4o', provider: 'openai' as const });

describe('estimate', () => {
  it('counts what a build would send, per shard and in total, without writing a shard', async () => {
    const dir = await tempDir('be-estimate-');
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const { build, estimate: e } = await estimate({ ...(await base()), maxRequests: 3, expectedOutputTokens: 200 });
      expect(build.rows).toBe(7);
      expect(e.shards.map((s) => s.requests)).toEqual([3, 3, 1]);
      expect(e.requests).toBe(7);
      expect(e.bytes).toBe(build.bytes);
      expect(e.inputTokens).toBe(await handCount(255));
      expect(e.shards.reduce((n, s) => n + s.inputTokens!, 0)).toBe(e.inputTokens);
      expect(e.outputTokens).toBe(7 * 200);
      // gpt-4o at batch rates: $1.25 / $5 per million input / output tokens.
      expect(e.cost).toBeCloseTo((e.inputTokens! * 1.25 + 1400 * 5) / 1e6, 12);
      expect(e.outputAtCap).toBe(false);
    } finally {
      process.chdir(cwd);
    }
    expect((await import('node:fs/promises').then((fs) => fs.readdir(dir)))).toEqual([]); // nothing written, rejects included
  });

  it('follows the model family and detail: low detail, gpt-4o-mini tiles', async () => {
    const low = await estimate({ ...(await base()), detail: 'low' });
    expect(low.estimate.inputTokens).toBe(await handCount(85));
    const mini = await estimate({ ...(await base()), model: 'gpt-4o-mini' });
    expect(mini.estimate.inputTokens).toBe(await handCount(8500));
    expect(mini.estimate.price?.name).toBe('gpt-4o-mini');
    // Output at the cap when no expectation is given: 4,096 a request.
    expect(mini.estimate.outputTokens).toBe(7 * 4096);
    expect(mini.estimate.outputAtCap).toBe(true);
  });

  it('lists rejects only when asked, and counts them', async () => {
    const dir = await tempDir('be-estimate-');
    const bad = path.join(dir, 'bad.jsonl');
    await writeFile(bad, `${(await readFile(dataset, 'utf8')).trim()}\n{"id": "x", "img_path": "images/none.png", "class_label": "hateful"}\nnot json\n`);
    const rejectsPath = path.join(dir, 'rejects.jsonl');
    const { build, estimate: e } = await estimate({ ...(await base()), dataset: bad, imageRoot: fixtures, rejectsPath });
    expect(build.rows).toBe(9);
    expect(e.requests).toBe(7);
    expect(build.rejects.byCode).toEqual({ E_IMAGE_NOT_FOUND: 1, E_BAD_JSON: 1 });
    expect((await readFile(rejectsPath, 'utf8')).trim().split('\n')).toHaveLength(2);
  });
});

describe('prices and the cost check', () => {
  const shard = (rows: number, tokens?: number): ShardRecord => ({ path: 'b.jsonl', index: 1, rows, bytes: 10, sha256: 'x', first_line: 1, last_line: rows, ...(tokens === undefined ? {} : { input_tokens: tokens }) });

  it('prices a model by the longest name that starts it, at a name boundary', () => {
    expect(priceFor('gpt-4o-2024-08-06')?.name).toBe('gpt-4o');
    expect(priceFor('gpt-4o-mini-2024-07-18')?.name).toBe('gpt-4o-mini');
    expect(priceFor('GPT-4.1-nano')?.name).toBe('gpt-4.1-nano');
    expect(priceFor('gpt-4o1')).toBeNull();
    expect(priceFor('my-azure-deployment')).toBeNull();
  });

  it('computes cost from tokens, refuses above --max-cost, and when it cannot price', () => {
    // 1M input tokens at $1.25, 100 requests × 2,000 output tokens at $5 per million: $1.25 + $1.
    const e = estimateCost([shard(100, 1_000_000)], { model: 'gpt-4o', maxTokens: 4096, expectedOutputTokens: 2000 });
    expect(e.cost).toBeCloseTo(2.25, 12);
    expect(() => checkMaxCost(e, 2.5)).not.toThrow();
    expect(() => checkMaxCost(e, 2)).toThrow(/\$2\.25, is over --max-cost 2; nothing was uploaded/);
    const unknown = estimateCost([shard(1, 10)], { model: 'my-deployment', maxTokens: 10 });
    expect(unknown.cost).toBeNull();
    expect(() => checkMaxCost(unknown, 100)).toThrow(/price of my-deployment is unknown/);
    const unestimated = estimateCost([shard(1)], { model: 'gpt-4o', maxTokens: 10 });
    expect(() => checkMaxCost(unestimated, 100)).toThrow(/input tokens were not estimated/);
  });

  it('reads a price file over the built-in table, naming the file and model of a bad entry', async () => {
    const dir = await tempDir('be-prices-');
    const good = path.join(dir, 'p.json');
    await writeFile(good, JSON.stringify({ 'my-deployment': { input: 1, output: 2 }, 'gpt-4o': { input: 0, output: 0 } }));
    const table = await loadPrices(good);
    expect(priceFor('my-deployment', table)?.price).toEqual({ input: 1, output: 2 });
    expect(priceFor('gpt-4o', table)?.price).toEqual({ input: 0, output: 0 });
    expect(priceFor('gpt-4.1', table)?.price).toEqual({ input: 1, output: 4 });
    const bad = path.join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ 'gpt-4o': { input: '1.25', output: 5 } }));
    await expect(loadPrices(bad)).rejects.toThrow(`--prices ${bad}: model "gpt-4o": field "input" must be a number`);
    await writeFile(bad, '{"gpt-4o": ');
    await expect(loadPrices(bad)).rejects.toThrow(`--prices ${bad}:`);
  });
});
