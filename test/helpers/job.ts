import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Provider } from '../../src/pipeline/providers.js';
import type { RunOptions } from '../../src/pipeline/run.js';

export const memesDataset = fileURLToPath(new URL('../../fixtures/memes.jsonl', import.meta.url));
export const testTemplate = 'A human expert labelled this meme as: {}\nExplain why, as JSON {"explanation": "..."}.';

/** `run` options for the fixture dataset in `dir` (batches, results, merged.jsonl), polling fast. */
export function localRunOptions(dir: string, provider: Provider, extra: Partial<RunOptions> = {}): RunOptions {
  return {
    provider,
    dataset: memesDataset,
    template: testTemplate,
    model: 'gpt-4o',
    outDir: path.join(dir, 'batches'),
    resultsDir: path.join(dir, 'results'),
    output: path.join(dir, 'merged.jsonl'),
    pollMs: 20,
    maxPollMs: 100,
    retries: 10,
    ...extra,
  };
}
