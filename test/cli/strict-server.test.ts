import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import OpenAI, { toFile } from 'openai';
import { runCli, startServe } from '../helpers/cli.js';
import { requestLine, tempDir, waitForBatch } from '../helpers/server.js';
import { startBatchServer } from '../../src/server/server.js';

const memes = fileURLToPath(new URL('../../fixtures/memes.jsonl', import.meta.url));

/** Starts `batch-explain serve` with `flags`; returns its URL and a stop function. */
async function serve(flags: string[]): Promise<{ url: string; stop: () => Promise<unknown> }> {
  return startServe(await tempDir(), ['--quiet', ...flags]);
}

describe('the CLI against the real rules of the local server', () => {
  it('run --provider azure waits for uploads that stay pending for seconds, and merges every row', async () => {
    // Azure routes keep uploads pending 1.5 s by default.
    const server = await startBatchServer({ dataDir: await tempDir() });
    try {
      const cwd = await tempDir('be-cli-pending-');
      const env = { AZURE_API_KEY: 'k', AZURE_API_URL: server.url, AZURE_API_VERSION: '2024-10-21', AZURE_ENGINE_NAME: 'gpt-4o-batch' };
      const result = await runCli(['run', '--provider', 'azure', '--dataset', memes, '--prompt', 'hateful_memes_explanation', '--poll-interval', '0.1', '--output', 'merged.jsonl'], { cwd, env });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toMatch(/run: shard 1: waiting for the provider to process its upload \(pending for \d+ s\)/);
      const merged = (await readFile(path.join(cwd, 'merged.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      expect(merged.filter((r) => typeof r.generated_explanation === 'string')).toHaveLength(7);
      const events = (await readFile(path.join(cwd, 'batches', 'manifest.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).type);
      expect(events.filter((t) => t === 'file_processed')).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('serve --clock-scale 86400: an OpenAI batch slower than its (scaled) 24 h window expires, its lines accounted for', async () => {
    const { url, stop } = await serve(['--clock-scale', '86400', '--concurrency', '1', '--fault-line-delay-ms', '100']);
    try {
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'x', maxRetries: 0 });
      const lines = Array.from({ length: 30 }, (_, i) => requestLine(`s${i}`));
      const file = await client.files.create({ file: await toFile(Buffer.from(`${lines.join('\n')}\n`), 'in.jsonl'), purpose: 'batch' });
      // 30 lines of 100 ms each cannot all be done within the window of one second.
      const done = await waitForBatch(client, (await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' })).id);
      expect(done.status).toBe('expired');
      expect(done.request_counts!.completed + done.request_counts!.failed).toBe(30);
      const expired = (await (await client.files.content(done.error_file_id!)).text()).trim().split('\n').map((l) => JSON.parse(l));
      expect(expired.length).toBe(done.request_counts!.failed);
      for (const line of expired) expect(line.error.code).toBe('batch_expired');
    } finally {
      await stop();
    }
  });
});
