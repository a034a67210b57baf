import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openProvider } from '../../src/pipeline/providers.js';
import { run, type RunOptions } from '../../src/pipeline/run.js';
import { resubmit } from '../../src/pipeline/resubmit.js';
import { retrieve } from '../../src/pipeline/retrieve.js';
import { merge } from '../../src/pipeline/merge.js';
import { Manifest } from '../../src/batch-api/manifest.js';
import { tempDir } from '../helpers/server.js';
import { runOptions } from '../helpers/job.js';
import type { BatchServerOptions } from '../../src/server/server.js';
import { loadEncoding } from '../../src/core/requests/tokenizer.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const dataset = path.join(fixtures, 'memes.jsonl');

async function setup(localServer: Partial<BatchServerOptions> = {}) {
  const dir = await tempDir('be-run-');
  const provider = await openProvider({ provider: 'local', localDataDir: path.join(dir, 'server'), localServer, maxRetries: 0 });
  const options: RunOptions = runOptions(provider, dir);
  return { dir, provider, options };
}

const datasetLines = async () => (await readFile(dataset, 'utf8')).trim().split('\n');

describe('run: submit → retrieve → merge (→ resubmit)', () => {
  it('produces the merged dataset, every row explained, in order; running it again changes nothing', async () => {
    const { provider, options } = await setup();
    try {
      const first = await run(options);
      expect(first.merge).toMatchObject({ rows: 7, explained: 7, byReason: {} });
      const merged = (await readFile(options.output, 'utf8')).trim().split('\n');
      const original = await datasetLines();
      expect(merged.map((l) => JSON.parse(l).id)).toEqual(original.map((l) => JSON.parse(l).id));
      for (const [i, line] of merged.entries()) expect(line.startsWith(original[i]!.slice(0, -1))).toBe(true);
      const batches = provider.server!.store.batches.size;
      const again = await run(options);
      expect(again.merge.explained).toBe(7);
      expect(provider.server!.store.batches.size).toBe(batches);
    } finally {
      await provider.close();
    }
  });

  it('lets go of the build\'s tokenizer once built: it does not wait and merge with the job', async () => {
    const { provider, options } = await setup();
    try {
      // The build estimates tokens with the process's tokenizer, the one loaded here.
      const before = await loadEncoding('o200k_base');
      expect((await run(options)).submit.build?.inputTokens).toBeGreaterThan(0);
      expect(await loadEncoding('o200k_base')).not.toBe(before);
    } finally {
      await provider.close();
    }
  });

  it('resubmits expired rows round after round until every row is explained', async () => {
    // Each batch expires after 2 lines: 7 rows need rounds of 5, 3 and 1.
    const { provider, options } = await setup({ faults: { expireAfterLines: 2 }, concurrency: 1 });
    try {
      const summary = await run({ ...options, maxRounds: 5 });
      expect(summary.merge).toMatchObject({ rows: 7, explained: 7 });
      expect(summary.rounds).toBe(3);
      expect(summary.merge.extraResults).toBe(5 + 3 + 1);
      const shards = (await readdir(options.outDir)).filter((n) => n.endsWith('.jsonl') && n.includes('batch_'));
      expect(shards.sort()).toEqual(['batch_00001.jsonl', 'r1_batch_00001.jsonl', 'r2_batch_00001.jsonl', 'r3_batch_00001.jsonl']);
    } finally {
      await provider.close();
    }
  });

  it('resubmits a round whose shards are byte for byte those of an earlier round (the same rows failed again)', async () => {
    const dir = await tempDir('be-run-');
    const localDataDir = path.join(dir, 'server');
    // Round 0 against a server that fails every line; the rounds after against one that does not.
    const failing = await openProvider({ provider: 'local', localDataDir, localServer: { faults: { lineFailureRate: 1 } }, maxRetries: 0 });
    const options = (provider: typeof failing) => runOptions(provider, dir, { maxRequests: 2 });
    try {
      const first = await run(options(failing));
      expect(first.merge).toMatchObject({ rows: 7, explained: 0, byReason: { api_error: 7 } });
    } finally {
      await failing.close();
    }
    const healthy = await openProvider({ provider: 'local', localDataDir, maxRetries: 0 });
    try {
      // Every row failed: round 1 rebuilds the same 4 shards, the same bytes as round 0's.
      const summary = await run({ ...options(healthy), maxRounds: 1 });
      expect(summary.rounds).toBe(1);
      expect(summary.merge).toMatchObject({ rows: 7, explained: 7 });
      const shards = (await readdir(path.join(dir, 'batches'))).filter((n) => /batch_\d+\.jsonl$/.test(n)).sort();
      expect(shards).toHaveLength(8);
      for (const name of shards.filter((n) => !n.startsWith('r1_'))) {
        expect(await readFile(path.join(dir, 'batches', `r1_${name}`), 'utf8')).toBe(await readFile(path.join(dir, 'batches', name), 'utf8'));
      }
      expect(healthy.server!.store.batches.size).toBe(8);
      // Re-running the finished job submits nothing more.
      await run({ ...options(healthy), maxRounds: 1 });
      expect(healthy.server!.store.batches.size).toBe(8);
    } finally {
      await healthy.close();
    }
  });

  it('accounts for every row under 429s, 500s and failing lines, with rounds limited', async () => {
    const { provider, options } = await setup({ faults: { rate429: 0.2, rate500: 0.1, retryAfterSeconds: 0, lineFailureRate: 0.4, seed: 9 } });
    try {
      const summary = await run({ ...options, maxRounds: 2 });
      const without = Object.values(summary.merge.byReason).reduce((a, b) => a + b, 0);
      expect(summary.merge.rows).toBe(7);
      expect(summary.merge.explained + without).toBe(7);
      for (const reason of Object.keys(summary.merge.byReason)) expect(reason).toBe('api_error');
      expect(summary.rounds).toBeLessThanOrEqual(2);
    } finally {
      await provider.close();
    }
  });

  it("resubmit --ids: a bare id is text (1e3 is the id \"1e3\", not 1000); an id the dataset's rule refuses is an error naming the line", async () => {
    const { dir, provider, options } = await setup();
    const image = path.join(fixtures, 'images/banner.jpg');
    const custom = path.join(dir, 'ids.jsonl');
    await writeFile(custom, ['"1e3"', '1000', '"x"'].map((id) => `{"id": ${id}, "img_path": ${JSON.stringify(image)}, "class_label": "p"}\n`).join(''));
    const ids = path.join(dir, 'wanted.txt');
    try {
      await run({ ...options, dataset: custom });
      await writeFile(ids, '1e3\n{"id": "x", "flags": []}\n"nowhere"\n');
      const again = await resubmit({ ...options, dataset: custom, ids });
      expect(again).toMatchObject({ round: 1, rows: 2, idsNotFound: 1 });
      expect((await readFile(again.dataset!, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).id)).toEqual(['1e3', 'x']);
      for (const bad of ['{"id": ""}', '{"id": 1.5}', '""']) {
        await writeFile(ids, `x\n${bad}\n`);
        await expect(resubmit({ ...options, dataset: custom, ids }), bad).rejects.toThrow(/wanted\.txt line 2: no id/);
      }
    } finally {
      await provider.close();
    }
  });

  it('resubmit takes the merged output (rows left null) and the next retrieve + merge folds the answers in', async () => {
    const { dir, provider, options } = await setup({ faults: { expireAfterLines: 4 }, concurrency: 1 });
    try {
      // expiredRounds 0: the run leaves its expired rows for the resubmit below.
      const first = await run({ ...options, expiredRounds: 0 });
      expect(first.merge.byReason).toEqual({ batch_expired: 3 });
      const again = await resubmit({ ...options, from: options.output });
      expect(again).toMatchObject({ round: 1, rows: 3 });
      expect((await readFile(again.dataset!, 'utf8')).trim().split('\n')).toHaveLength(3);
      const manifest = await Manifest.open(path.join(options.outDir, 'manifest.jsonl'));
      await retrieve({ client: provider.client, manifest, outDir: options.resultsDir, wait: true, pollMs: 20 });
      const merged = await merge({ dataset, results: [options.resultsDir], output: path.join(dir, 'merged2.jsonl'), manifest });
      await manifest.close();
      expect(merged).toMatchObject({ explained: 7, extraResults: 3 });
      const nothing = await resubmit({ ...options, from: path.join(dir, 'merged2.jsonl') });
      expect(nothing.rows).toBe(0);
    } finally {
      await provider.close();
    }
  });
});
