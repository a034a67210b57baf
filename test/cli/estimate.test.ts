import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';

const memes = fileURLToPath(new URL('../../fixtures/memes.jsonl', import.meta.url));

describe('estimate and --max-cost', () => {
  it('estimate prints a table per shard and in total on stdout, or JSON, writing nothing', async () => {
    const dir = await tempDir('be-estimate-cli-');
    const table = await runCli(['estimate', '--dataset', memes, '--prompt', 'armeme_explanation_english', '--max-requests', '4', '--expected-output-tokens', '200'], { cwd: dir });
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^shard\s+requests\s+bytes\s+input tokens\s+output tokens\s+cost$/);
    expect(lines[1]).toMatch(/^#1\s+4\s/);
    expect(lines[2]).toMatch(/^#2\s+3\s/);
    expect(lines[3]).toMatch(/^total\s+7\s+[\d,]+\s+[\d,]+\s+1,400\s+\$0\.01$/);
    expect(table.stdout).toMatch(/gpt-4o priced as gpt-4o: \$1\.25 input, \$5 output per million tokens/);
    expect(table.stderr).toMatch(/estimate: 7 rows = 7 requests; ~\$0\.01/);
    const json = await runCli(['estimate', '--dataset', memes, '--prompt', 'armeme_explanation_english', '--model', 'gpt-4o-mini', '--json'], { cwd: dir });
    expect(json.code, json.stderr).toBe(0);
    const e = JSON.parse(json.stdout);
    expect(e).toMatchObject({ rows: 7, rejected: 0, requests: 7, outputTokens: 7 * 4096, outputAtCap: true, price: { name: 'gpt-4o-mini' } });
    // gpt-4o-mini counts 8,500 tokens for each small image (2,833 + one tile of 5,667).
    expect(e.inputTokens).toBeGreaterThan(7 * 8500);
    expect(e.cost).toBeCloseTo((e.inputTokens * 0.075 + e.outputTokens * 0.3) / 1e6, 10);
    expect(await readdir(dir)).toEqual([]);
  });

  it('run --max-cost refuses above the estimate with exit 4 and nothing uploaded; a re-run within it reuses the build', async () => {
    const dir = await tempDir('be-max-cost-');
    const args = ['run', '--dataset', memes, '--prompt', 'armeme_explanation_english', '--max-requests', '3', '--poll-interval', '0.2'];
    const refused = await runCli([...args, '--max-cost', '0.05'], { cwd: dir });
    expect(refused.code, refused.stderr).toBe(4);
    expect(refused.stderr).toMatch(/estimate:\nshard\s+requests/);
    expect(refused.stderr).toMatch(/the estimated cost, \$0\.15, is over --max-cost 0\.05; nothing was uploaded/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    const server = path.join(dir, '.batch-explain/local-server');
    expect(await readdir(path.join(server, 'batches')).catch(() => [])).toEqual([]);
    expect((await readdir(path.join(server, 'files')).catch(() => [])).filter((f) => f.endsWith('.json'))).toEqual([]);
    expect((await readdir(path.join(dir, 'batches'))).filter((f) => /^batch_\d+\.jsonl$/.test(f))).toHaveLength(3);

    const ran = await runCli([...args, '--max-cost', '0.05', '--expected-output-tokens', '200'], { cwd: dir });
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stderr).toMatch(/total\s+7\s+[\d,]+\s+[\d,]+\s+1,400\s+\$0\.01/);
    expect(ran.stderr).toMatch(/merge: 7 rows = 7 explained/);
    const events = (await readFile(path.join(dir, 'batches/manifest.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).type);
    expect(events.filter((t) => t === 'build_done')).toHaveLength(1);
    expect(events.filter((t) => t === 'batch')).toHaveLength(3);
  });
});
