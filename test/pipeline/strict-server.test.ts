import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openProvider } from '../../src/pipeline/providers.js';
import { run } from '../../src/pipeline/run.js';
import { Manifest } from '../../src/batch-api/manifest.js';
import { startBatchServer, type BatchServer } from '../../src/server/server.js';
import { offlineResponder, type Responder } from '../../src/server/responders.js';
import { tempDir } from '../helpers/server.js';
import { runOptions } from '../helpers/job.js';

// The client against the local server's real rules: files pending on Azure, unknown models and
// deployments, per-line 400s, OpenAI's 24 h window, Azure jobs past 24 h.

const azureEnv = (server: BatchServer, version = '2024-10-21') => ({ AZURE_API_KEY: 'k', AZURE_API_URL: server.url, AZURE_API_VERSION: version, AZURE_ENGINE_NAME: 'gpt-4o-batch' });
const batchFiles = (server: BatchServer) => [...server.store.files.values()].filter((f) => f.purpose === 'batch');

describe('the client survives the rules of the real services', () => {
  it('azure: waits for each upload to be processed (shown as it waits, recorded), then creates its batch; a re-run waits for nothing', async () => {
    const dir = await tempDir('be-strict-');
    const server = await startBatchServer({ dataDir: path.join(dir, 'server'), fileProcessingMs: { azure: 150 } });
    const provider = await openProvider({ provider: 'azure', env: azureEnv(server), maxRetries: 0 });
    try {
      const waits: string[] = [];
      const options = runOptions(provider, dir, { model: 'gpt-4o-batch', maxRequests: 3, onUpload: (e) => void (e.type === 'processing' && waits.push(e.detail!)) });
      const summary = await run(options);
      expect(summary.merge).toMatchObject({ rows: 7, explained: 7 });
      expect(waits.length).toBeGreaterThan(0);
      expect(waits[0]).toMatch(/^pending for \d+ s$/);
      const manifest = await Manifest.open(path.join(dir, 'batches', 'manifest.jsonl'));
      const shards = [...manifest.state.shards.values()];
      await manifest.close();
      expect(shards).toHaveLength(3);
      for (const s of shards) expect(s.processedFileId).toBe(s.fileId);
      const requests = server.store.batches.size;
      waits.length = 0;
      await run(options);
      expect(waits).toEqual([]);
      expect(server.store.batches.size).toBe(requests);
    } finally {
      await provider.close();
      await server.close();
    }
  });

  it('azure: a job stopped while its upload is pending resumes without uploading again', async () => {
    const dir = await tempDir('be-strict-');
    const server = await startBatchServer({ dataDir: path.join(dir, 'server'), fileProcessingMs: { azure: 300 } });
    const provider = await openProvider({ provider: 'azure', env: azureEnv(server), maxRetries: 0 });
    try {
      const stop = new AbortController();
      const options = runOptions(provider, dir, { model: 'gpt-4o-batch', deleteInputFiles: 'never' });
      await expect(run({ ...options, signal: stop.signal, onUpload: (e) => void (e.type === 'processing' && stop.abort(new Error('stopped'))) })).rejects.toThrow();
      expect(batchFiles(server)).toHaveLength(1);
      expect(server.store.batches.size).toBe(0);
      const summary = await run(options);
      expect(summary.merge).toMatchObject({ rows: 7, explained: 7 });
      expect(batchFiles(server)).toHaveLength(1);
      const events = (await readFile(path.join(dir, 'batches', 'manifest.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).type);
      expect(events.filter((t) => t === 'uploaded')).toHaveLength(1);
      expect(events.filter((t) => t === 'file_processed')).toHaveLength(1);
    } finally {
      await provider.close();
      await server.close();
    }
  });

  it('an unknown model stops the job before anything is uploaded, naming the model', async () => {
    const dir = await tempDir('be-strict-');
    const provider = await openProvider({ provider: 'local', localDataDir: path.join(dir, 'server'), maxRetries: 0 });
    try {
      await expect(run(runOptions(provider, dir, { model: 'gpt-nope', maxRequests: 3 }))).rejects.toThrow(/the model 'gpt-nope' is unknown to local server .*nothing was uploaded/);
      expect(batchFiles(provider.server!)).toEqual([]);
    } finally {
      await provider.close();
    }
  });

  it('an unknown Azure deployment stops the job after its first upload, with a clear message', async () => {
    const dir = await tempDir('be-strict-');
    const server = await startBatchServer({ dataDir: path.join(dir, 'server'), deployments: ['gpt-4o-batch'], fileProcessingMs: { azure: 0 } });
    const provider = await openProvider({ provider: 'azure', env: { ...azureEnv(server), AZURE_ENGINE_NAME: 'gpt-4o-typo' }, maxRetries: 0 });
    try {
      await expect(run(runOptions(provider, dir, { model: 'gpt-4o-typo', maxRequests: 2 }))).rejects.toThrow(
        /batches\.create refused shard 1 with 400 .*a deployment it does not know \(model_not_found\).*deployment 'gpt-4o-typo' exists on this resource/,
      );
      expect(batchFiles(server)).toHaveLength(1);
      expect(server.store.batches.size).toBe(0);
    } finally {
      await provider.close();
      await server.close();
    }
  });

  it('refuses shard budgets over what the provider takes in one input file, before anything is built', async () => {
    const dir = await tempDir('be-strict-');
    const provider = await openProvider({ provider: 'local', localDataDir: path.join(dir, 'server'), maxRetries: 0 });
    try {
      await expect(run(runOptions(provider, dir, { maxRequests: 60_000 }))).rejects.toThrow(/60000 requests \(--max-requests\) is over the 50000 requests local takes/);
      await expect(run(runOptions(provider, dir, { maxBytes: 300_000_000 }))).rejects.toThrow(/over the 209715200 bytes \(200 MB\)/);
    } finally {
      await provider.close();
    }
  });

  it("a line the API refuses (a 400 in the error file) is that row's api_error, with the API's message", async () => {
    const dir = await tempDir('be-strict-');
    const provider = await openProvider({ provider: 'local', localDataDir: path.join(dir, 'server'), maxRetries: 0 });
    try {
      const options = runOptions(provider, dir, { maxTokens: 20_000 });
      const summary = await run(options);
      expect(summary.merge).toMatchObject({ rows: 7, explained: 0, byReason: { api_error: 7 } });
      const errors = await readFile(summary.merge.errorsPath, 'utf8');
      const lines = errors.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines).toHaveLength(7);
      for (const l of lines) expect(JSON.stringify(l)).toContain('max_tokens is too large: 20000. This model supports at most 16384 completion tokens, whereas you provided 20000.');
    } finally {
      await provider.close();
    }
  });

  it('openai: a batch that expires keeps its finished lines, and run resubmits the rest', async () => {
    const dir = await tempDir('be-strict-');
    let t = Date.now();
    const offline = offlineResponder();
    let calls = 0;
    // The third answer of the first batch takes "25 hours".
    const responder: Responder = { ...offline, respond: async (body) => (++calls === 3 && (t += 25 * 3600 * 1000), offline.respond(body)) };
    const provider = await openProvider({ provider: 'local', localDataDir: path.join(dir, 'server'), localServer: { clock: { now: () => t }, responder, concurrency: 1 }, maxRetries: 0 });
    try {
      const summary = await run(runOptions(provider, dir, { maxRounds: 1 }));
      expect(summary.rounds).toBe(1);
      expect(summary.merge).toMatchObject({ rows: 7, explained: 7 });
      const statuses = [...provider.server!.store.batches.values()].map((r) => [r.batch.status, r.batch.request_counts]);
      expect(statuses).toContainEqual(['expired', { total: 7, completed: 3, failed: 4 }]);
      expect(statuses).toContainEqual(['completed', { total: 4, completed: 4, failed: 0 }]);
      // Leave nothing behind: once merged, the job's output and error files are gone from the local server (its input files once their batches were done).
      expect([...provider.server!.store.files.values()]).toEqual([]);
    } finally {
      await provider.close();
    }
  });

  it('azure: a job past 24 h is waited for, not taken as expired', async () => {
    const dir = await tempDir('be-strict-');
    let t = Date.now();
    const offline = offlineResponder();
    let calls = 0;
    const responder: Responder = { ...offline, respond: async (body) => (++calls === 2 && (t += 30 * 3600 * 1000), offline.respond(body)) };
    const server = await startBatchServer({ dataDir: path.join(dir, 'server'), clock: { now: () => t }, responder, concurrency: 1, fileProcessingMs: { azure: 0 } });
    const provider = await openProvider({ provider: 'azure', env: azureEnv(server, 'v1'), maxRetries: 0 });
    try {
      const summary = await run(runOptions(provider, dir, { model: 'gpt-4o-batch' }));
      expect(summary.merge).toMatchObject({ rows: 7, explained: 7 });
      const [batch] = [...server.store.batches.values()].map((r) => r.batch);
      expect(batch!.completed_at! - batch!.created_at).toBeGreaterThan(24 * 3600);
    } finally {
      await provider.close();
      await server.close();
    }
  });
});
