import { readFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';
import { explained, okLine, writeLines } from '../helpers/results.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const memes = path.join(fixtures, 'memes.jsonl');

describe('merge, run and resubmit through the CLI', () => {
  it("the README's first command: run on the bundled fixtures with the local provider", async () => {
    const cwd = await tempDir('be-cli-run-');
    const r = await runCli(['run', '--dataset', memes, '--prompt', 'armeme_explanation_english', '--output', 'dataset_with_explanations.jsonl'], { cwd });
    expect(r.stderr).toMatch(/merge: 7 rows = 7 explained \+ 0 without an explanation/);
    expect(r.code).toBe(0);
    const rows = (await readFile(path.join(cwd, 'dataset_with_explanations.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((x) => x.id)).toEqual(['armeme-0001', 'armeme-0002', 'armeme-0003', 4, 'hm-42953', 'hm-10387', 'hm-77140']);
    for (const row of rows) expect(row.generated_explanation).toMatch(/not a model answer/);
  });

  it("merge with the original scripts' flags, the summary on stderr, data on stdout", async () => {
    const dir = await tempDir('be-cli-merge-');
    const dataset = await writeLines(path.join(dir, 'data.jsonl'), ['{"id": "a"}', '{"id": "b"}', '{"id": "c"}']);
    await mkdir(path.join(dir, 'results'));
    await writeLines(path.join(dir, 'results/batch_output_1.jsonl'), [okLine('c', explained('C')), okLine('a', explained('A'))]);
    const toFile = await runCli(['merge', '--dataset', dataset, '--results_dir', path.join(dir, 'results'), '--output', path.join(dir, 'out.jsonl')]);
    expect(toFile.code).toBe(0);
    expect(toFile.stderr).toMatch(/3 rows = 2 explained \+ 1 without an explanation[\s\S]*no_result 1/);
    expect(await readFile(path.join(dir, 'out.jsonl'), 'utf8')).toBe('{"id": "a", "generated_explanation": "A"}\n{"id": "b", "generated_explanation": null}\n{"id": "c", "generated_explanation": "C"}\n');
    const toStdout = await runCli(['merge', '--dataset', dataset, '--results', path.join(dir, 'results'), '--field', 'explanation', '--errors', path.join(dir, 'e.jsonl'), '--strict']);
    expect(toStdout.code).toBe(3);
    expect(toStdout.stdout.split('\n')[0]).toBe('{"id": "a", "explanation": "A"}');
    expect(JSON.parse(await readFile(path.join(dir, 'e.jsonl'), 'utf8'))).toMatchObject({ line: 2, id: 'b', reason: 'no_result' });
  });

  it('run resubmits the rows whose batch expired by itself (OpenAI keeps the finished lines), and says so', async () => {
    const cwd = await tempDir('be-cli-expired-');
    const { startBatchServer } = await import('../../src/server/server.js');
    const server = await startBatchServer({ dataDir: path.join(cwd, 'srv'), faults: { expireAfterLines: 4 }, concurrency: 1 });
    try {
      const env = { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: `${server.url}/v1` };
      const r = await runCli(['run', '--provider', 'openai', '--dataset', memes, '--prompt', 'hateful_memes_explanation', '--output', 'm.jsonl', '--poll-interval', '0.1'], { cwd, env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/run: resubmit round 1 \(3 rows whose batch expired\)/);
      expect(r.stderr).toMatch(/7 rows = 7 explained/);
    } finally {
      await server.close();
    }
  });

  it('resubmit after a run with expired rows, then retrieve and merge', async () => {
    const cwd = await tempDir('be-cli-resubmit-');
    // An OpenAI-compatible server that expires batches after 4 lines.
    const { startBatchServer } = await import('../../src/server/server.js');
    const server = await startBatchServer({ dataDir: path.join(cwd, 'srv'), faults: { expireAfterLines: 4 }, concurrency: 1 });
    try {
      const env = { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: `${server.url}/v1` };
      const common = ['--provider', 'openai', '--dataset', memes, '--prompt', 'hateful_memes_explanation'];
      // --expired-rounds 0: the run leaves its expired rows for the resubmit by hand below.
      const first = await runCli(['run', ...common, '--output', 'm.jsonl', '--poll-interval', '0.1', '--expired-rounds', '0'], { cwd, env });
      expect(first.stderr).toMatch(/7 rows = 4 explained \+ 3 without an explanation[\s\S]*batch_expired 3/);
      const again = await runCli(['resubmit', ...common, '--from', 'm.jsonl.errors.jsonl'], { cwd, env });
      expect(again.stderr).toMatch(/resubmit: round 1: 3 rows/);
      expect((await runCli(['retrieve', '--provider', 'openai', '--wait', '--poll-interval', '0.1'], { cwd, env })).code).toBe(0);
      const merged = await runCli(['merge', '--dataset', memes, '--manifest', 'batches/manifest.jsonl', '--output', 'm2.jsonl'], { cwd });
      expect(merged.stderr).toMatch(/7 rows = 7 explained/);
    } finally {
      await server.close();
    }
  });
});
