import path from 'node:path';
import type OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { Manifest } from '../../src/batch-api/manifest.js';
import { QuotaGate } from '../../src/batch-api/quota.js';
import { tempDir } from '../helpers/server.js';

const shard = (i: number) => ({ path: `b/batch_${i}.jsonl`, index: i, rows: 1, bytes: 10, sha256: `sha${i}`, first_line: i, last_line: i });

describe('QuotaGate.poll', () => {
  it('stops every worker at the first failure and writes nothing to the manifest after it', async () => {
    const file = path.join(await tempDir('be-poll-'), 'manifest.jsonl');
    const manifest = await Manifest.open(file);
    for (let i = 1; i <= 8; i++) {
      await manifest.append({ type: 'shard', run_id: 'r', shard: shard(i) });
      await manifest.append({ type: 'batch', sha256: `sha${i}`, batch_id: `batch_${i}`, input_file_id: `file-${i}` });
    }
    let calls = 0;
    // The first lookup is refused (a 400: not retried); the others answer slowly, and would each
    // record a status change if they were still allowed to go on.
    const client = {
      batches: {
        retrieve: async (id: string, options?: { signal?: AbortSignal }) => {
          calls++;
          if (id === 'batch_1') throw Object.assign(new Error('400 bad request'), { status: 400 });
          await new Promise((resolve, reject) => {
            const timer = setTimeout(resolve, 100);
            options?.signal?.addEventListener('abort', () => (clearTimeout(timer), reject(new Error('aborted'))), { once: true });
          });
          return { id, status: 'in_progress', request_counts: { total: 1, completed: 0, failed: 0 } };
        },
      },
    } as unknown as OpenAI;
    const gate = new QuotaGate({ client, manifest, retries: 0 });
    const before = manifest.state.batches.size;
    await expect(gate.poll()).rejects.toThrow('400 bad request');
    // Whatever the workers were doing when the first failed, nothing runs on after poll returns.
    const statusEvents = () => [...manifest.state.batches.values()].filter((b) => b.status !== undefined).length;
    const seen = statusEvents();
    await new Promise((r) => setTimeout(r, 400));
    expect(statusEvents()).toBe(seen);
    expect(calls).toBeLessThan(8);
    expect(manifest.state.batches.size).toBe(before);
    await manifest.close();
  });
});
