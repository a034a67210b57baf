import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { runCli, startServe } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';
import { startBatchServer } from '../../src/server/server.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const memes = path.join(fixtures, 'memes.jsonl');

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) if (entry.isFile()) out.push(path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name));
  return out;
}

describe('the round trip through the CLI', () => {
  it('serve: prints its URL, answers the official client, stops on SIGTERM with 143', async () => {
    const dataDir = await tempDir();
    const { url, stderr, stop } = await startServe(dataDir);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'x' });
    expect((await client.batches.list()).data).toEqual([]);
    expect(await stop()).toBe(143);
    expect(stderr()).toMatch(/listening on http/);
    expect(stderr()).not.toMatch(/\n\s+at /);
  });

  it('submit → status → retrieve --wait with the local provider, then the tracking-file form', async () => {
    const cwd = await tempDir('be-cli-job-');
    const submitted = await runCli(['submit', '--dataset', memes, '--prompt', 'armeme_explanation_english', '--max-requests', '3'], { cwd });
    expect(submitted.stderr).toMatch(/submit: 3 shard\(s\) submitted \(3 now, 0 earlier\)/);
    expect(submitted.code).toBe(0);
    const status = await runCli(['status', '--json'], { cwd });
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout);
    expect(parsed.batches).toHaveLength(3);
    expect(parsed.totals.total).toBe(7);
    const retrieved = await runCli(['retrieve', '--wait', '--poll-interval', '0.1'], { cwd });
    expect(retrieved.code).toBe(0);
    expect(retrieved.stderr).toMatch(/retrieve: 3 completed; requests 7 done, 0 failed of 7/);
    const results = (await readdir(path.join(cwd, 'batches', 'results'))).filter((n) => n.endsWith('.output.jsonl'));
    expect(results).toHaveLength(3);
    // The original scripts' tracking file: batch_id,path per line.
    const ids = parsed.batches.map((b: { batchId: string }) => b.batchId);
    await writeFile(path.join(cwd, 'batch_tracking.txt'), ids.map((id: string, i: number) => `${id},./batches/batch_${i + 1}.jsonl`).join('\n'));
    const viaCsv = await runCli(['retrieve', '--tracking_file', 'batch_tracking.txt', '--output_dir', 'results2'], { cwd });
    expect(viaCsv.code).toBe(0);
    expect((await readdir(path.join(cwd, 'results2'))).sort()).toEqual([...results].sort());
    const table = await runCli(['status', '--tracking-file', 'batch_tracking.txt'], { cwd });
    expect(table.stdout).toMatch(/3 batch\(es\): 3 completed/);
  });

  it('azure from an .env file with the original names, against a server requiring the key; the key is written nowhere', async () => {
    const key = 'sk-azure-SECRET-0123456789abcdef';
    // Uploads pending for 0.2 s, not Azure's default 1.5 s: the wait for processing is still gone through (test/cli/strict-server waits seconds).
    const server = await startBatchServer({ dataDir: await tempDir(), apiKey: key, fileProcessingMs: { azure: 200 } });
    try {
      const cwd = await tempDir('be-cli-azure-');
      await writeFile(path.join(cwd, '.env'), `AZURE_API_KEY=${key}\nAZURE_API_URL=${server.url}\nAZURE_API_VERSION=2024-10-21\nAZURE_ENGINE_NAME=gpt-4o-batch\n`);
      const common = ['--provider', 'azure', '--env_file', '.env'];
      const submitted = await runCli(['submit', ...common, '--dataset', memes, '--prompt', 'hateful_memes_explanation', '--output_dir', 'batches'], { cwd });
      expect(submitted.code).toBe(0);
      // The input file was uploaded with expires_after (14 days, within Azure's 14–30) through AzureOpenAI.
      const inputs = () => [...server.store.files.values()].filter((f) => f.purpose === 'batch');
      expect(inputs().map((f) => f.expires_at! - f.created_at)).toEqual([14 * 86_400]);
      const retrieved = await runCli(['retrieve', ...common, '--wait', '--poll-interval', '0.1', '--output_dir', 'results'], { cwd });
      expect(retrieved.code).toBe(0);
      // ...and deleted once its batch was finished and downloaded (--delete-input-files completed).
      expect(inputs()).toEqual([]);
      const line = JSON.parse((await readFile(path.join(cwd, 'batches/batch_00001.jsonl'), 'utf8')).split('\n')[0]!);
      expect(line).toMatchObject({ url: '/chat/completions', body: { model: 'gpt-4o-batch' } });
      const names = await readdir(path.join(cwd, 'results'));
      const output = names.find((n) => n.endsWith('.output.jsonl'))!;
      expect((await readFile(path.join(cwd, 'results', output), 'utf8')).trim().split('\n')).toHaveLength(7);
      // Azure always gives an error file, empty here.
      expect(await readFile(path.join(cwd, 'results', names.find((n) => n.endsWith('.errors.jsonl'))!), 'utf8')).toBe('');
      const wrong = await runCli(['status', '--provider', 'azure'], { cwd, env: { AZURE_API_KEY: 'sk-wrong', AZURE_API_URL: server.url, AZURE_API_VERSION: '2024-10-21' } });
      expect(wrong.stdout).toMatch(/unknown \(401/);
      const merged = await runCli(['merge', '--dataset', memes, '--manifest', 'batches/manifest.jsonl', '--output', 'merged.jsonl'], { cwd });
      expect(merged.code, merged.stderr).toBe(0);
      for (const text of [submitted.stdout, submitted.stderr, retrieved.stdout, retrieved.stderr, wrong.stdout, wrong.stderr, merged.stdout, merged.stderr]) expect(text).not.toContain(key);
      for (const file of await allFiles(cwd)) if (!file.endsWith('.env')) expect(await readFile(file, 'utf8'), file).not.toContain(key);
      expect((await allFiles(cwd)).some((f) => f.endsWith('merged.jsonl'))).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('cancel stops the unfinished batches of a job on an OpenAI-compatible server', async () => {
    const server = await startBatchServer({ dataDir: await tempDir(), faults: { lineDelayMs: 1000 }, concurrency: 1 });
    try {
      const cwd = await tempDir('be-cli-cancel-');
      const env = { OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: `${server.url}/v1` };
      expect((await runCli(['submit', '--provider', 'openai', '--dataset', memes, '--prompt', 'hateful_memes_explanation'], { cwd, env })).code).toBe(0);
      const cancelled = await runCli(['cancel', '--provider', 'openai'], { cwd, env });
      expect(cancelled.code).toBe(0);
      expect(cancelled.stdout).toMatch(/batch_\w+ {2}cancelling/);
      const retrieved = await runCli(['retrieve', '--provider', 'openai', '--wait', '--poll-interval', '0.1'], { cwd, env });
      expect(retrieved.stderr).toMatch(/1 cancelled/);
    } finally {
      await server.close();
    }
  });

  it('status without a manifest says what to do', async () => {
    const r = await runCli(['status'], { cwd: await tempDir() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no job here: .*\(run submit first/);
  });
});
