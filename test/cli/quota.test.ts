import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';
import { startBatchServer } from '../../src/server/server.js';

const memes = fileURLToPath(new URL('../../fixtures/memes.jsonl', import.meta.url));
const TERMINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);

async function mergedRows(file: string) {
  return (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('quotas through the CLI', () => {
  it('run --max_active_batches 1 --max-enqueued-tokens: one batch at a time on the server, the rest held back, all rows explained', { timeout: 120_000 }, async () => {
    const server = await startBatchServer({ dataDir: await tempDir(), faults: { lineDelayMs: 100 }, concurrency: 1 });
    let most = 0;
    const save = server.store.saveBatch.bind(server.store);
    server.store.saveBatch = (record) => {
      const done = save(record);
      most = Math.max(most, [...server.store.batches.values()].filter((r) => !TERMINAL.has(r.batch.status)).length);
      return done;
    };
    try {
      const cwd = await tempDir('be-cli-quota-');
      const env = { OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: `${server.url}/v1` };
      const r = await runCli(
        ['run', '--provider', 'openai', '--dataset', memes, '--prompt', 'hateful_memes_explanation', '--max-requests', '2', '--max_active_batches', '1', '--max-enqueued-tokens', '1000000', '--poll-interval', '0.1', '--max-poll-interval', '0.5', '--output', 'merged.jsonl'],
        { cwd, env },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/submit: shard \d held back: 1 unfinished batches \(--max-active-batches 1\)/);
      expect(r.stderr).toMatch(/~[\d,]+ input tokens \(estimated\)/);
      expect(most).toBe(1);
      expect(server.store.batches.size).toBe(4);
      const rows = await mergedRows(path.join(cwd, 'merged.jsonl'));
      expect(rows).toHaveLength(7);
      expect(rows.every((row) => typeof row.generated_explanation === 'string')).toBe(true);
      // Input files deleted once their batches finished (the default).
      expect([...server.store.files.values()].filter((f) => f.purpose === 'batch')).toEqual([]);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await server.close();
    }
  });

  it('run re-queues batches refused with token_limit_exceeded; status marks them; nothing is lost', { timeout: 120_000 }, async () => {
    // The server takes one shard at a time: shards of 2 requests are ~1,280 tokens, the last ~630.
    const server = await startBatchServer({ dataDir: await tempDir(), faults: { lineDelayMs: 100, tokenLimit: 1300 }, concurrency: 1 });
    try {
      const cwd = await tempDir('be-cli-quota-');
      const env = { OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: `${server.url}/v1` };
      const args = ['--provider', 'openai', '--poll-interval', '0.1', '--max-poll-interval', '0.5'];
      const r = await runCli(['run', ...args, '--dataset', memes, '--prompt', 'hateful_memes_explanation', '--max-requests', '2', '--output', 'merged.jsonl', '--delete-input-files', 'never'], { cwd, env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/run: submit again \(\d shards? re-queued after token_limit_exceeded\)/);
      const rows = await mergedRows(path.join(cwd, 'merged.jsonl'));
      expect(rows.filter((row) => typeof row.generated_explanation === 'string')).toHaveLength(7);
      // One input file per shard, kept (--delete-input-files never), reused by every retry.
      expect([...server.store.files.values()].filter((f) => f.purpose === 'batch')).toHaveLength(4);
      const status = await runCli(['status', '--provider', 'openai'], { cwd, env });
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(/failed \(re-queued\)/);
      expect(status.stdout).toMatch(/token_limit_exceeded: Enqueued token limit reached/);
    } finally {
      await server.close();
    }
  });
});
