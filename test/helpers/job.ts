import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Provider } from '../../src/pipeline/providers.js';
import type { RunOptions } from '../../src/pipeline/run.js';

/** The bundled seven-row dataset and a prompt for it. */
export const fixtureDataset = fileURLToPath(new URL('../../fixtures/memes.jsonl', import.meta.url));
export const fixtureTemplate = 'A human expert labelled this meme as: {}\nExplain why, as JSON {"explanation": "..."}.';

/** `run` options for the fixture dataset with every file under `dir`, polling and retrying fast, for tests. */
export function runOptions(provider: Provider, dir: string, extra: Partial<RunOptions> = {}): RunOptions {
  return {
    provider,
    dataset: fixtureDataset,
    template: fixtureTemplate,
    model: 'gpt-4o',
    outDir: path.join(dir, 'batches'),
    resultsDir: path.join(dir, 'results'),
    output: path.join(dir, 'merged.jsonl'),
    pollMs: 20,
    maxPollMs: 100,
    retries: 10,
    // Retries back off from 10 ms, not 1 s: a test's injected failures cost milliseconds (10 retries: ~10 s at most).
    minRetryDelayMs: 10,
    ...extra,
  };
}
