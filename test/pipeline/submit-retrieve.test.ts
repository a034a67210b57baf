import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { APIConnectionError } from 'openai';
import { openProvider, type Provider } from '../../src/pipeline/providers.js';
import { submit, type SubmitOptions } from '../../src/pipeline/submit.js';
import { retrieve } from '../../src/pipeline/retrieve.js';
import { Manifest, type ManifestEvent } from '../../src/batch-api/manifest.js';
import { tempDir } from '../helpers/server.js';
import type { BatchServerOptions } from '../../src/server/server.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const template = 'A human expert labelled this meme as: {}\nExplain why, as JSON {"explanation": "..."}.';
const ids = ['armeme-0001', 'armeme-0002', 'armeme-0003', '4', 'hm-42953', 'hm-10387', 'hm-77140'];

async function job(localServer: Partial<BatchServerOptions> = {}) {
  const dir = await tempDir('be-job-');
  const open = () => openProvider({ provider: 'local', localDataDir: path.join(dir, 'server'), localServer, maxRetries: 0 });
  const options = (provider: Provider, extra: Partial<SubmitOptions> = {}): SubmitOptions => ({
    provider,
    dataset: path.join(fixtures, 'memes.jsonl'),
    template,
    model: 'gpt-4o',
    outDir: path.join(dir, 'batches'),
    maxRequests: 2,
    retries: 8,
    minRetryDelayMs: 10, // injected failures back off for milliseconds, not seconds
    ...extra,
  });
  /** Retrieves with --wait and returns every custom_id found in the output and error files. */
  const fetchAll = async (provider: Provider) => {
    const manifest = await Manifest.open(path.join(dir, 'batches/manifest.jsonl'));
    const summary = await retrieve({ client: provider.client, manifest, outDir: path.join(dir, 'results'), wait: true, pollMs: 20, maxPollMs: 100, retries: 8, minRetryDelayMs: 10 });
    await manifest.close();
    const found: string[] = [];
    for (const name of await readdir(path.join(dir, 'results'))) {
      for (const line of (await readFile(path.join(dir, 'results', name), 'utf8')).split('\n').filter(Boolean)) found.push(JSON.parse(line).custom_id);
    }
    return { summary, found };
  };
  return { dir, open, options, fetchAll };
}

/** Batches on the server, by input file: one batch per uploaded file means nothing was created twice. */
function batchesPerShard(provider: Provider): Map<string, number> {
  const count = new Map<string, number>();
  for (const r of provider.server!.store.batches.values()) {
    const sha = r.batch.metadata?.shard_sha256 ?? '?';
    count.set(sha, (count.get(sha) ?? 0) + 1);
  }
  return count;
}

describe('submit → retrieve with the local provider', () => {
  it('runs end to end: every row comes back exactly once, and a re-run submits nothing again', async () => {
    const { open, options, fetchAll } = await job();
    const provider = await open();
    try {
      const first = await submit(options(provider, { workers: 2 }));
      expect(first.build).toMatchObject({ rows: 7, requests: 7 });
      expect(first.submitted.map((s) => s.shard.index)).toEqual([1, 2, 3, 4]);
      const again = await submit(options(provider));
      expect(again.build).toBeNull();
      expect(again.submitted.every((s) => s.skipped)).toBe(true);
      const { summary, found } = await fetchAll(provider);
      expect(summary.pending).toEqual([]);
      expect(summary.warnings).toEqual([]);
      expect(found.sort()).toEqual([...ids].sort());
      expect([...batchesPerShard(provider).values()]).toEqual([1, 1, 1, 1]);
    } finally {
      await provider.close();
    }
  });

  const crashPoints: Array<[ManifestEvent['type'], 'before' | 'after', number]> = [
    ['run', 'after', 1],
    ['shard', 'before', 2],
    ['shard', 'after', 3],
    ['uploaded', 'before', 1],
    ['uploaded', 'after', 2],
    ['batch', 'before', 1],
    ['batch', 'after', 3],
    ['build_done', 'before', 1],
    ['build_done', 'after', 1],
  ];
  it.each(crashPoints)('resumes after a crash %s the %sth… event: no batch created twice, every row back once', async (type, phase, nth) => {
    const { open, options, fetchAll } = await job();
    let provider = await open();
    let seen = 0;
    await expect(
      submit(
        options(provider, {
          workers: 2,
          manifestOptions: {
            onAppend: (e, p) => {
              if (e.type === type && p === phase && ++seen === nth) throw new Error(`simulated crash ${phase} ${type} #${nth}`);
            },
          },
        }),
      ),
    ).rejects.toThrow(/simulated crash/);
    // A new process: the provider (and its server) restarts on the same data.
    await provider.close();
    provider = await open();
    try {
      const resumed = await submit(options(provider));
      expect(resumed.submitted.map((s) => s.shard.index)).toEqual([1, 2, 3, 4]);
      for (const n of batchesPerShard(provider).values()) expect(n).toBe(1);
      expect(batchesPerShard(provider).size).toBe(4);
      const { found } = await fetchAll(provider);
      expect(found.sort()).toEqual([...ids].sort());
    } finally {
      await provider.close();
    }
  });

  it('finds a batch whose create answer was lost, instead of creating it again', async () => {
    const { open, options, fetchAll } = await job();
    const provider = await open();
    try {
      const create = provider.client.batches.create.bind(provider.client.batches);
      let lost = 0;
      provider.client.batches.create = (async (...args: Parameters<typeof create>) => {
        const batch = await create(...args);
        if (lost++ < 2) throw new APIConnectionError({ message: 'socket hang up (simulated: the batch was created)' });
        return batch;
      }) as typeof create;
      const result = await submit(options(provider, { workers: 1 }));
      expect(result.submitted).toHaveLength(4);
      expect(lost).toBeGreaterThanOrEqual(2);
      for (const n of batchesPerShard(provider).values()) expect(n).toBe(1);
      expect((await fetchAll(provider)).found.sort()).toEqual([...ids].sort());
    } finally {
      await provider.close();
    }
  });

  it('completes under 429s (with Retry-After) and 500s on every route, every row accounted for', async () => {
    const { open, options, fetchAll } = await job({ faults: { rate429: 0.25, rate500: 0.15, retryAfterSeconds: 0, seed: 11 } });
    const provider = await open();
    try {
      await submit(options(provider, { workers: 2 }));
      for (const n of batchesPerShard(provider).values()) expect(n).toBe(1);
      const { found } = await fetchAll(provider);
      expect(found.sort()).toEqual([...ids].sort());
    } finally {
      await provider.close();
    }
  });

  it('downloads error files too, and does not download a file twice', async () => {
    const { dir, open, options, fetchAll } = await job({ faults: { lineFailureRate: 0.5, seed: 5 } });
    const provider = await open();
    try {
      await submit(options(provider));
      const { found, summary } = await fetchAll(provider);
      expect(found.sort()).toEqual([...ids].sort());
      const errorFiles = (await readdir(path.join(dir, 'results'))).filter((n) => n.endsWith('.errors.jsonl'));
      expect(errorFiles.length).toBeGreaterThan(0);
      const failed = summary.batches.reduce((n, b) => n + (b.requestCounts?.failed ?? 0), 0);
      expect(summary.batches.reduce((n, b) => n + (b.downloaded?.error?.lines ?? 0), 0)).toBe(failed);
      let downloads = 0;
      const manifest = await Manifest.open(path.join(dir, 'batches/manifest.jsonl'));
      await retrieve({ client: provider.client, manifest, outDir: path.join(dir, 'results'), onDownload: () => downloads++ });
      await manifest.close();
      expect(downloads).toBe(0);
    } finally {
      await provider.close();
    }
  });

  it('warns when an output file is shorter than request_counts says', async () => {
    const { dir, open, options } = await job();
    const provider = await open();
    try {
      await submit(options(provider));
      const manifest = await Manifest.open(path.join(dir, 'batches/manifest.jsonl'));
      // Let the batches finish, then cut one output file short on the server.
      for (const id of manifest.state.batches.keys()) {
        for (;;) {
          const b = await provider.client.batches.retrieve(id);
          if (b.status === 'completed') break;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      const store = provider.server!.store;
      const victim = [...store.batches.values()].find((r) => r.batch.request_counts.completed === 2)!;
      const content = store.contentPath(victim.batch.output_file_id!);
      const { readFile: read, writeFile: write } = await import('node:fs/promises');
      const first = (await read(content, 'utf8')).split('\n')[0]!;
      await write(content, `${first}\n`);
      store.files.get(victim.batch.output_file_id!)!.bytes = Buffer.byteLength(first) + 1;
      const summary = await retrieve({ client: provider.client, manifest, outDir: path.join(dir, 'results') });
      await manifest.close();
      expect(summary.warnings).toEqual([
        `${victim.batch.id}: the output file has 1 lines, request_counts.completed says 2`,
        `${victim.batch.id}: 1 output + 0 error lines, request_counts.total says 2`,
      ]);
    } finally {
      await provider.close();
    }
  });
});
