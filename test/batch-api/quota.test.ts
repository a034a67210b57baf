import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openProvider, type Provider } from '../../src/pipeline/providers.js';
import { run, type RunOptions } from '../../src/pipeline/run.js';
import { submit } from '../../src/pipeline/submit.js';
import { build } from '../../src/pipeline/build.js';
import { Manifest, type ManifestEvent } from '../../src/batch-api/manifest.js';
import type { QuotaEvent } from '../../src/batch-api/quota.js';
import { tempDir } from '../helpers/server.js';
import { runOptions, fixtureDataset as dataset, fixtureTemplate as template } from '../helpers/job.js';
import type { BatchServerOptions } from '../../src/server/server.js';
import type { Store } from '../../src/server/store.js';

const TERMINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);
/** 7 rows, 2 requests a shard: 4 shards. */
const MAX_REQUESTS = 2;

/** Estimated tokens of each shard of the test job, by sha256 (the same build as the job's). */
async function shardTokens(): Promise<Map<string, number>> {
  const outDir = await tempDir('be-quota-build-');
  const summary = await build({ dataset, template, model: 'gpt-4o', outDir, maxRequests: MAX_REQUESTS, fsync: false });
  return new Map(summary.shards.map((s) => [s.sha256, s.input_tokens!]));
}

/**
 * Watches the server: after every change of a batch record, the set of its unfinished batches.
 * Every status change is saved, so no moment with more unfinished batches goes unseen.
 */
function watchServer(store: Store): Array<Array<{ id: string; sha: string }>> {
  const seen: Array<Array<{ id: string; sha: string }>> = [];
  const save = store.saveBatch.bind(store);
  store.saveBatch = (record) => {
    const done = save(record);
    seen.push([...store.batches.values()].filter((r) => !TERMINAL.has(r.batch.status)).map((r) => ({ id: r.batch.id, sha: r.batch.metadata?.shard_sha256 ?? '?' })));
    return done;
  };
  return seen;
}

async function setup(localServer: Partial<BatchServerOptions> = {}, extra: Partial<RunOptions> = {}) {
  const dir = await tempDir('be-quota-');
  const provider = await openProvider({ provider: 'local', localDataDir: path.join(dir, 'server'), localServer, maxRetries: 0 });
  const seen = watchServer(provider.server!.store);
  const quota: QuotaEvent[] = [];
  const options = runOptions(provider, dir, { maxRequests: MAX_REQUESTS, onQuota: (e) => quota.push(e), ...extra });
  return { dir, provider, options, seen, quota, manifestPath: path.join(dir, 'batches/manifest.jsonl') };
}

/** Input files left on the server after a run of the test job. */
async function inputFilesLeftByRun(extra: Partial<RunOptions>): Promise<number> {
  const { provider, options } = await setup({}, extra);
  try {
    await run(options);
    return [...provider.server!.store.files.values()].filter((f) => f.purpose === 'batch').length;
  } finally {
    await provider.close();
  }
}

async function events(manifestPath: string): Promise<ManifestEvent[]> {
  return (await readFile(manifestPath, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
}

const mergedIds = async (file: string) => (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));

/** Batches on the server that completed, by shard: one each means no shard ran twice. */
function completedPerShard(provider: Provider): number[] {
  const count = new Map<string, number>();
  for (const r of provider.server!.store.batches.values()) {
    if (r.batch.status === 'completed') count.set(r.batch.metadata!.shard_sha256!, (count.get(r.batch.metadata!.shard_sha256!) ?? 0) + 1);
  }
  return [...count.values()];
}

// Lines take 150 ms, one at a time: a 2-request batch runs ~0.3 s, long enough to overlap.
const SLOW = { faults: { lineDelayMs: 150 }, concurrency: 1 };

describe('quotas: limits on the job\'s unfinished batches', () => {
  it('never has more than --max-active-batches unfinished batches on the server; held shards go as earlier ones finish', async () => {
    const { provider, options, seen, quota } = await setup(SLOW, { maxActiveBatches: 2 });
    try {
      const summary = await run(options);
      expect(summary.merge).toMatchObject({ rows: 7, explained: 7 });
      const most = Math.max(...seen.map((s) => s.length));
      expect(most).toBe(2);
      expect(completedPerShard(provider)).toEqual([1, 1, 1, 1]);
      expect(quota.some((e) => e.type === 'held' && /2 unfinished batches \(--max-active-batches 2\)/.test(e.detail))).toBe(true);
      expect((await mergedIds(options.output)).every((r) => typeof r.generated_explanation === 'string')).toBe(true);
    } finally {
      await provider.close();
    }
  });

  it('control: without the limit, the same job has more than 2 batches unfinished at once', async () => {
    const { provider, options, seen } = await setup(SLOW);
    try {
      await run(options);
      expect(Math.max(...seen.map((s) => s.length))).toBeGreaterThan(2);
    } finally {
      await provider.close();
    }
  });

  it('never has more estimated tokens enqueued than --max-enqueued-tokens, counted on the server side', async () => {
    const tokens = await shardTokens();
    const sizes = [...tokens.values()].sort((a, b) => a - b);
    // Room for the largest shard alone, or the two smallest together: never three at once.
    const limit = Math.max(sizes.at(-1)!, sizes[0]! + sizes[1]!);
    expect(sizes[0]! + sizes[1]! + sizes[2]!).toBeGreaterThan(limit);
    // The server enforces the same limit with its own count of each file's tokens: had the client
    // let too much through, a batch would fail with token_limit_exceeded.
    const { provider, options, seen, quota, manifestPath } = await setup({ ...SLOW, faults: { ...SLOW.faults, tokenLimit: limit } }, { maxEnqueuedTokens: limit });
    try {
      const summary = await run(options);
      expect(summary.merge).toMatchObject({ rows: 7, explained: 7 });
      const enqueued = seen.map((s) => s.reduce((n, b) => n + tokens.get(b.sha)!, 0));
      expect(Math.max(...enqueued)).toBeLessThanOrEqual(limit);
      expect(quota.some((e) => e.type === 'held' && /would pass --max-enqueued-tokens/.test(e.detail))).toBe(true);
      const log = await events(manifestPath);
      expect(log.filter((e) => e.type === 'requeued')).toEqual([]);
      // Each shard's estimate is on record (for a resumed run), equal to the server's own count.
      const recorded = log.filter((e): e is Extract<ManifestEvent, { type: 'shard' }> => e.type === 'shard');
      expect(recorded.map((e) => e.shard.input_tokens)).toEqual([...tokens.values()]);
      for (const r of provider.server!.store.batches.values()) expect(r.enqueuedTokens).toBe(tokens.get(r.batch.metadata!.shard_sha256!));
      expect(completedPerShard(provider)).toEqual([1, 1, 1, 1]);
    } finally {
      await provider.close();
    }
  });
});

describe('quotas: token_limit_exceeded from the provider', () => {
  it('after validation: the shard is re-queued, its input file reused, and every row still comes back once', async () => {
    const tokens = await shardTokens();
    // The server takes one shard at a time; the client, unaware, sends them all.
    const { provider, options, manifestPath } = await setup({ ...SLOW, faults: { ...SLOW.faults, tokenLimit: Math.max(...tokens.values()) } }, { deleteInputFiles: 'never' });
    try {
      const summary = await run(options);
      expect(summary.merge).toMatchObject({ rows: 7, explained: 7, byReason: {} });
      const batches = [...provider.server!.store.batches.values()];
      const refused = batches.filter((r) => r.batch.errors?.data[0]?.code === 'token_limit_exceeded');
      expect(refused.length).toBeGreaterThan(0);
      expect(completedPerShard(provider)).toEqual([1, 1, 1, 1]);
      // One upload per shard: a re-queued shard's batch is made from the same file (nothing re-billed).
      const inputs = [...provider.server!.store.files.values()].filter((f) => f.purpose === 'batch');
      expect(inputs).toHaveLength(4);
      for (const f of inputs) expect(f.expires_at).toBe(f.created_at + 14 * 86_400); // expires_after, by default
      for (const r of refused) expect(batches.some((b) => b.batch.status === 'completed' && b.batch.input_file_id === r.batch.input_file_id)).toBe(true);
      const log = await events(manifestPath);
      expect(log.filter((e) => e.type === 'uploaded')).toHaveLength(4);
      const requeued = log.filter((e): e is Extract<ManifestEvent, { type: 'requeued' }> => e.type === 'requeued');
      expect(requeued.map((e) => e.batch_id).sort()).toEqual(refused.map((r) => r.batch.id).sort());
      // The manifest's state: every shard on its completed batch; the refused ones marked so.
      const manifest = await Manifest.open(manifestPath);
      for (const s of manifest.state.shards.values()) expect(manifest.state.batches.get(s.batchId!)?.status).toBe('completed');
      for (const r of refused) expect(manifest.state.batches.get(r.batch.id)?.requeued).toBe(true);
    } finally {
      await provider.close();
    }
  });

  it('at create (a 400, as in Azure\'s fail-fast regions): creation waits and retries with the same file', async () => {
    const tokens = await shardTokens();
    const { provider, options, manifestPath } = await setup({ ...SLOW, faults: { ...SLOW.faults, tokenLimit: Math.max(...tokens.values()), tokenLimitAt: 'create' } }, { deleteInputFiles: 'never' });
    try {
      const summary = await run(options);
      expect(summary.merge).toMatchObject({ rows: 7, explained: 7, byReason: {} });
      const log = await events(manifestPath);
      const requeued = log.filter((e) => e.type === 'requeued');
      expect(requeued.length).toBeGreaterThan(0);
      expect(requeued.every((e) => e.type === 'requeued' && e.batch_id === undefined && /token_limit_exceeded/.test(e.message))).toBe(true);
      // No batch was created only to fail: exactly one per shard, and one upload each.
      expect(provider.server!.store.batches.size).toBe(4);
      expect(completedPerShard(provider)).toEqual([1, 1, 1, 1]);
      expect(log.filter((e) => e.type === 'uploaded')).toHaveLength(4);
    } finally {
      await provider.close();
    }
  });

  it('a merge while a re-queued shard waits for its new batch calls its rows pending, not lost', async () => {
    const tokens = await shardTokens();
    const { provider, options, manifestPath } = await setup({ ...SLOW, faults: { ...SLOW.faults, tokenLimit: Math.max(...tokens.values()) } });
    try {
      // Submit alone (no limits: all four created at once), then let the refusals be seen.
      await submit(options);
      const { retrieve } = await import('../../src/pipeline/retrieve.js');
      const { merge } = await import('../../src/pipeline/merge.js');
      const manifest = await Manifest.open(manifestPath);
      const got = await retrieve({ client: provider.client, manifest, outDir: options.resultsDir, wait: true, pollMs: 20, maxPollMs: 100 });
      expect(got.requeued.length).toBeGreaterThan(0);
      const merged = await merge({ dataset, results: [options.resultsDir], output: options.output, manifest });
      await manifest.close();
      const waiting = got.requeued.reduce((n, s) => n + s.shard.rows, 0);
      expect(merged.byReason.pending).toBe(waiting);
      expect(merged.byReason.no_result).toBeUndefined();
      // run picks the job up and finishes it.
      expect((await run(options)).merge).toMatchObject({ rows: 7, explained: 7 });
    } finally {
      await provider.close();
    }
  });
});

describe('quotas: kill and resume, input files', () => {
  it('a submit stopped while shards are held back resumes: the queue is in the manifest, no shard sent twice', async () => {
    const { provider, options, manifestPath } = await setup(SLOW, { maxActiveBatches: 1 });
    try {
      // Stop the first run once its first batch is created: every other shard is held back then.
      const stop = new AbortController();
      const first = submit({ ...options, signal: stop.signal, onUpload: (e) => e.type === 'created' && stop.abort() });
      await expect(first).rejects.toThrow();
      const before = await Manifest.open(manifestPath);
      const created = [...before.state.shards.values()].filter((s) => s.batchId).length;
      expect(created).toBe(1);
      await before.close();
      const summary = await run(options);
      expect(summary.merge).toMatchObject({ rows: 7, explained: 7 });
      expect(provider.server!.store.batches.size).toBe(4);
      expect(completedPerShard(provider)).toEqual([1, 1, 1, 1]);
    } finally {
      await provider.close();
    }
  });

  it('a run killed right after a re-queue (before the new batch) resumes with the same file', async () => {
    const tokens = await shardTokens();
    const dir = await tempDir('be-quota-kill-');
    const server = { ...SLOW, faults: { ...SLOW.faults, tokenLimit: Math.max(...tokens.values()) } };
    const first = await setup(server, { outDir: path.join(dir, 'batches'), resultsDir: path.join(dir, 'results'), output: path.join(dir, 'merged.jsonl') });
    const crash = new Error('killed after a requeue');
    try {
      const manifestOptions = { onAppend: (e: ManifestEvent, phase: 'before' | 'after') => { if (e.type === 'requeued' && phase === 'after') throw crash; } };
      await expect(run({ ...first.options, manifestOptions })).rejects.toBe(crash);
    } finally {
      await first.provider.close();
    }
    // A new process: the same server data folder, the same job folder.
    const provider = await openProvider({ provider: 'local', localDataDir: path.join(first.dir, 'server'), localServer: server, maxRetries: 0 });
    try {
      const summary = await run({ ...first.options, provider });
      expect(summary.merge).toMatchObject({ rows: 7, explained: 7, byReason: {} });
      expect(completedPerShard(provider)).toEqual([1, 1, 1, 1]);
      expect((await events(path.join(dir, 'batches/manifest.jsonl'))).filter((e) => e.type === 'uploaded')).toHaveLength(4);
    } finally {
      await provider.close();
    }
  });

  it('deletes input files once batches finish (default), records it, and keeps them with --delete-input-files never', async () => {
    const { provider, options, manifestPath } = await setup();
    try {
      await run(options);
      expect([...provider.server!.store.files.values()].filter((f) => f.purpose === 'batch')).toEqual([]);
      const deleted = (await events(manifestPath)).filter((e) => e.type === 'input_deleted');
      expect(deleted).toHaveLength(4);
      // Nothing to delete twice on a re-run.
      await run(options);
      expect((await events(manifestPath)).filter((e) => e.type === 'input_deleted')).toHaveLength(4);
    } finally {
      await provider.close();
    }
    expect(await inputFilesLeftByRun({ deleteInputFiles: 'never' })).toBe(4);
  });

  it('retries deletions (and downloads) answered 500, and records each deletion once', async () => {
    // Half the requests on /files/{id} (content and delete) fail with a 500.
    const { provider, options, manifestPath } = await setup({ faults: { rate500: 0.5, routes: '^/files/file', seed: 3 } });
    try {
      const summary = await run(options);
      expect(summary.merge).toMatchObject({ rows: 7, explained: 7 });
      expect([...provider.server!.store.files.values()].filter((f) => f.purpose === 'batch')).toEqual([]);
      const deleted = (await events(manifestPath)).filter((e): e is Extract<ManifestEvent, { type: 'input_deleted' }> => e.type === 'input_deleted');
      expect(new Set(deleted.map((e) => e.file_id)).size).toBe(4);
      expect(deleted).toHaveLength(4);
    } finally {
      await provider.close();
    }
  });

  it('with --delete-input-files failed, keeps the files of completed batches and deletes those of failed ones', async () => {
    expect(await inputFilesLeftByRun({ deleteInputFiles: 'failed' })).toBe(4);
    // Every batch fails validation (url_mismatch: the lines' url is not the batch endpoint).
    const { provider, options, manifestPath } = await setup({}, { deleteInputFiles: 'failed', url: '/v1/embeddings' });
    try {
      const summary = await run(options);
      expect(summary.merge.explained).toBe(0);
      expect([...provider.server!.store.batches.values()].every((r) => r.batch.status === 'failed')).toBe(true);
      expect([...provider.server!.store.files.values()].filter((f) => f.purpose === 'batch')).toEqual([]);
      expect((await events(manifestPath)).filter((e) => e.type === 'input_deleted')).toHaveLength(4);
    } finally {
      await provider.close();
    }
  });
});
