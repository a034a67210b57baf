import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openProvider, type Provider } from '../../src/pipeline/providers.js';
import { run, type RunOptions, type RunSummary } from '../../src/pipeline/run.js';
import { startBatchServer, type BatchServer, type BatchServerOptions, type RequestInfo } from '../../src/server/server.js';
import { retriesExhaustedLine } from '../../bin/run-command.js';
import { RetriesExhaustedError } from '../../src/batch-api/retry.js';
import { tempDir } from '../helpers/server.js';
import { fixtureDataset, runOptions } from '../helpers/job.js';

const dataset = fixtureDataset;
const ROWS = 7;

/**
 * A job run against a local server of its own (the `openai` provider pointed at it, the client's
 * own retries off, so every retry is ours and every request reaches the server's log). The server
 * can be stopped and started again on the same data folder and port, with other faults.
 */
async function faultJob(first: Partial<BatchServerOptions>, client: { timeoutMs?: number } = {}) {
  const dir = await tempDir('be-faults-');
  const dataDir = path.join(dir, 'server');
  const requests: RequestInfo[] = [];
  let server: BatchServer | null = null;
  let port = 0;
  const start = async (options: Partial<BatchServerOptions> = {}) => {
    server = await startBatchServer({ ...options, dataDir, port, onRequest: (r) => requests.push(r) });
    port = server.port;
    return server;
  };
  const stop = async () => {
    await server?.close();
    server = null;
  };
  await start(first);
  const provider: Provider = await openProvider({
    provider: 'openai',
    env: { OPENAI_API_KEY: 'sk-faults', OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1` },
    maxRetries: 0,
    ...(client.timeoutMs === undefined ? {} : { timeoutMs: client.timeoutMs }),
  });
  const options = (extra: Partial<RunOptions> = {}): RunOptions => runOptions(provider, dir, { tmpDir: path.join(dir, 'tmp'), maxRequests: 2, retries: 8, deleteInputFiles: 'never', ...extra });
  return {
    dir,
    requests,
    options,
    start,
    stop,
    get server() {
      return server!;
    },
    /** Batches and input files on the server, by shard: one each means nothing was created or uploaded twice (input files are kept: `deleteInputFiles: 'never'`). */
    stored() {
      const batches = [...server!.store.batches.values()];
      const inputs = [...server!.store.files.values()].filter((f) => f.purpose === 'batch');
      return { batches: batches.length, shards: new Set(batches.map((b) => b.batch.metadata?.shard_sha256)).size, inputs: inputs.length };
    },
  };
}

type Job = Awaited<ReturnType<typeof faultJob>>;

/** Every row explained, in the dataset's order, and nothing temporary left in the job's folders. */
async function expectComplete(job: Job, summary: RunSummary): Promise<void> {
  expect(summary.merge).toMatchObject({ rows: ROWS, explained: ROWS });
  const merged = (await readFile(path.join(job.dir, 'merged.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  const ids = (await readFile(dataset, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).id);
  expect(merged.map((r) => r.id)).toEqual(ids);
  for (const r of merged) expect(typeof r.generated_explanation).toBe('string');
  await expectNoTemporaries(job.dir);
}

async function expectNoTemporaries(dir: string): Promise<void> {
  const files = (await readdir(dir, { recursive: true })).map(String);
  expect(files.filter((f) => /\.partial|\.tmp$|batch-explain-sort-/.test(f))).toEqual([]);
}

/** Rows explained plus rows listed with a reason: always every row. */
function accounted(summary: RunSummary): number {
  return summary.merge.explained + Object.values(summary.merge.byReason).reduce((a, b) => a + b, 0);
}

/** The one-line message the CLI stops with when a run's API calls kept failing. */
async function stopped(pending: Promise<unknown>): Promise<string> {
  const err = await pending.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(RetriesExhaustedError);
  // The library's error carries no advice for the command line; the CLI adds it.
  expect((err as Error).message).not.toMatch(/run the same command|Nothing is lost/);
  const message = retriesExhaustedLine(err as RetriesExhaustedError);
  expect(message).not.toContain('\n');
  return message;
}

describe('fault matrix: every job completes, or stops with one clear line and a re-run completes', () => {
  it('429 storm with Retry-After: the client waits what was asked between attempts, then completes', { timeout: 90_000 }, async () => {
    const job = await faultJob({ faults: { storm429: 4, retryAfterSeconds: 1, routes: '^/files$' } });
    await expectComplete(job, await run(job.options({ workers: 1 })));
    const files = job.requests.filter((r) => r.path === '/v1/files').sort((a, b) => a.at - b.at);
    const limited = files.filter((r) => r.status === 429);
    expect(limited).toHaveLength(4);
    // After each 429, the next request to the route came no sooner than Retry-After (1 s) said.
    for (const r of limited) {
      const next = files.find((n) => n.at > r.at);
      expect(next, 'a request after the storm').toBeDefined();
      expect(next!.at - r.at).toBeGreaterThanOrEqual(900);
    }
    expect(job.stored()).toEqual({ batches: 4, shards: 4, inputs: 4 });
  });

  it('429 storm longer than the retries: stops with one line; a re-run completes', { timeout: 90_000 }, async () => {
    const job = await faultJob({ faults: { storm429: 1000, retryAfterSeconds: 0, routes: '^/batches$' } });
    const message = await stopped(run(job.options({ retries: 2 })));
    expect(message).toMatch(/^the API still failed after \d+ attempts \(last: 429 Rate limit reached.*\)\. Nothing is lost: run the same command again to resume$/);
    await job.stop();
    await job.start();
    await expectComplete(job, await run(job.options()));
    expect(job.stored()).toEqual({ batches: 4, shards: 4, inputs: 4 });
  });

  it('500, 502 and 503 on every route: retried with backoff, the job completes', { timeout: 120_000 }, async () => {
    const job = await faultJob({ faults: { rate500: 0.08, rate502: 0.08, rate503: 0.08, seed: 6 } });
    await expectComplete(job, await run(job.options({ retries: 10 })));
    const statuses = new Set(job.requests.map((r) => r.status));
    for (const s of [500, 502, 503]) expect(statuses, `a ${s} was injected`).toContain(s);
    expect(job.stored()).toEqual({ batches: 4, shards: 4, inputs: 4 });
    // A second run changes nothing and creates nothing.
    await expectComplete(job, await run(job.options()));
    expect(job.stored()).toEqual({ batches: 4, shards: 4, inputs: 4 });
  });

  it('503 on everything: stops with one line; a re-run against a healthy server completes', { timeout: 90_000 }, async () => {
    const job = await faultJob({ faults: { rate503: 1 } });
    const message = await stopped(run(job.options({ retries: 1 })));
    expect(message).toMatch(/^the API still failed after 2 attempts \(last: 503 The server is overloaded/);
    await job.stop();
    await job.start();
    await expectComplete(job, await run(job.options()));
  });

  it('connections reset mid-upload, and uploads whose answer is lost: one input file kept per shard', { timeout: 90_000 }, async () => {
    const job = await faultJob({ faults: { resetUploads: 0.4, loseUploadAnswers: 0.4, seed: 4 } });
    await expectComplete(job, await run(job.options({ retries: 10 })));
    const uploads = job.requests.filter((r) => r.path === '/v1/files' && r.method === 'POST');
    expect(uploads.filter((r) => r.status === 0).length, 'some uploads got no answer').toBeGreaterThan(0);
    expect(job.stored()).toEqual({ batches: 4, shards: 4, inputs: 4 });
    const leftovers = (await readdir(path.join(job.dir, 'server/files'))).filter((f) => f.includes('partial'));
    expect(leftovers).toEqual([]);
  });

  it('connections reset mid-download: the download starts over, no half file is taken as complete', { timeout: 90_000 }, async () => {
    const job = await faultJob({ faults: { resetDownloads: 0.5, seed: 6 } });
    await expectComplete(job, await run(job.options({ retries: 10 })));
    const downloads = job.requests.filter((r) => r.path.endsWith('/content'));
    expect(downloads.length).toBeGreaterThan(4); // some were cut and done again
    // Every downloaded file is the server's file, byte for byte.
    for (const record of job.server.store.batches.values()) {
      const local = await readFile(path.join(job.dir, 'results', `${record.batch.id}.output.jsonl`));
      expect(local.equals(await readFile(job.server.store.contentPath(record.batch.output_file_id!)))).toBe(true);
    }
  });

  it('a server restart in the middle of a batch: processing resumes, the job completes, one batch per shard', { timeout: 90_000 }, async () => {
    const job = await faultJob({ faults: { lineDelayMs: 150 }, concurrency: 1 });
    const running = run(job.options({ maxRequests: 7 }));
    for (let i = 0; i < 600; i++) {
      const record = [...job.server.store.batches.values()][0];
      if (record?.batch.status === 'in_progress' && record.batch.request_counts.completed >= 1) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const record = [...job.server.store.batches.values()][0]!;
    expect(record.batch.status).toBe('in_progress');
    await job.stop();
    await new Promise((r) => setTimeout(r, 500)); // down for a while: the client's calls fail and are retried
    await job.start({ faults: { lineDelayMs: 10 } });
    await expectComplete(job, await running);
    expect([...job.server.store.batches.values()].map((r) => [r.batch.id, r.batch.status])).toEqual([[record.batch.id, 'completed']]);
  });

  it('a server that stays down: stops with one line; once it is back, a re-run completes', { timeout: 90_000 }, async () => {
    const job = await faultJob({ faults: { lineDelayMs: 100 }, concurrency: 1 });
    await job.stop();
    const message = await stopped(run(job.options({ retries: 1 })));
    expect(message).toMatch(/^the API still failed after 2 attempts \(last: Connection error\..*\)\. Nothing is lost/);
    await job.start();
    await expectComplete(job, await run(job.options()));
    expect(job.stored()).toEqual({ batches: 4, shards: 4, inputs: 4 });
  });

  it('answers slower than the client timeout: the calls time out, are retried, and the job completes without duplicates', { timeout: 120_000 }, async () => {
    const job = await faultJob({ faults: { slowMs: 1000, slowRate: 0.3, routes: '^/(files|batches)$', seed: 4 } }, { timeoutMs: 300 });
    await expectComplete(job, await run(job.options({ retries: 10 })));
    expect(job.requests.filter((r) => r.status === 0).length, 'some calls timed out').toBeGreaterThan(0);
    expect(job.stored()).toEqual({ batches: 4, shards: 4, inputs: 4 });
  });

  it('malformed lines in an output file: counted as damaged, every row accounted for; a re-run completes', { timeout: 90_000 }, async () => {
    const job = await faultJob({ faults: { malformedLineRate: 0.4, seed: 2 } });
    const first = await run(job.options({ maxRequests: 7 }));
    expect(first.merge.badResultLines).toBeGreaterThan(0);
    expect(first.merge.rows).toBe(ROWS);
    expect(accounted(first)).toBe(ROWS);
    expect(first.merge.explained).toBeLessThan(ROWS);
    expect(Object.keys(first.merge.byReason)).toEqual(['no_result']);
    await job.stop();
    await job.start();
    await expectComplete(job, await run(job.options({ maxRequests: 7, maxRounds: 1 })));
  });

  it('an output file shorter than request_counts: retrieve warns, the rows end as no_result, a resubmit round completes them', { timeout: 90_000 }, async () => {
    // One shard of all seven rows: the resubmitted rows (fewer) make a shard unlike it. (A
    // resubmitted shard identical to an earlier one is taken for it and skipped: see the report.)
    const job = await faultJob({ faults: { dropLineRate: 0.4, seed: 6 } });
    const first = await run(job.options({ maxRequests: 7 }));
    expect(first.warnings.length).toBeGreaterThan(0);
    expect(first.warnings[0]).toMatch(/^batch_\w+: the output file has \d lines, request_counts.completed says \d$/);
    expect(accounted(first)).toBe(ROWS);
    const missing = first.merge.byReason.no_result ?? 0;
    expect(missing).toBeGreaterThan(0);
    expect(first.merge.explained).toBe(ROWS - missing);
    const errors = (await readFile(path.join(job.dir, 'merged.jsonl.errors.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(errors).toHaveLength(missing);
    for (const e of errors) expect(e).toMatchObject({ reason: 'no_result', message: expect.any(String) });
    await job.stop();
    await job.start();
    const again = await run(job.options({ maxRequests: 7, maxRounds: 1 }));
    await expectComplete(job, again);
    expect(again.rounds).toBe(1);
  });
});
