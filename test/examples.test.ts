import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runShell } from './helpers/cli.js';
import { expiredLine, explained, httpErrorLine, okLine, writeLines } from './helpers/results.js';
import { parse } from 'csv-parse/sync';

const examples = fileURLToPath(new URL('../examples/', import.meta.url));
const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const readLines = async (file: string) => (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));

describe('examples (run as users run them, against the built package)', () => {
  it('build-shards.mjs writes shards of the fixtures', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'be-example-'));
    const r = await runShell(process.execPath, [path.join(examples, 'build-shards.mjs'), path.join(examples, '../fixtures/memes.jsonl'), out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/batch_00001\.jsonl: 7 requests, \d+ bytes, sha256 [0-9a-f]{64}/);
    expect(r.stdout).toMatch(/rejected: 0/);
    expect((await readdir(out)).sort()).toEqual(['batch_00001.jsonl', 'rejects.jsonl']);
  });

  it('result-report.mjs tallies result files with readResults', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'be-example-'));
    await writeLines(path.join(dir, 'batch_1.output.jsonl'), [okLine('a', explained('one')), okLine('b', '{"explanation": "cut', 'length'), expiredLine('c'), '{damaged', okLine('d', explained('two'))]);
    const r = await runShell(process.execPath, [path.join(examples, 'result-report.mjs'), dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['explained: 2', 'truncated: 1', 'batch_expired: 1', 'tokens: 45', 'not result lines: 1']);
  });

  it('text-task.mjs builds text-only requests with a prompt function, rejecting rows it cannot use', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'be-example-'));
    const r = await runShell(process.execPath, [path.join(examples, 'text-task.mjs'), path.join(fixtures, 'tweets.jsonl'), out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/tweets_00001\.jsonl: 4 requests, \d+ bytes/);
    expect(r.stdout).toMatch(/rejected: 1/);
    const requests = await readLines(path.join(out, 'tweets_00001.jsonl'));
    expect(requests.map((q) => q.custom_id)).toEqual(['t1', 't2', 't3', 't5']);
    for (const q of requests) {
      expect(q.body.model).toBe('gpt-4o-mini');
      expect(q.body.max_tokens).toBe(300);
      // Text only: one text part, no image_url.
      expect(q.body.messages[0].content.map((c: { type: string }) => c.type)).toEqual(['text']);
    }
    expect(requests[2].body.messages[0].content[0].text).toMatch(/in Arabic.*\nTweet: الخدمة كانت ممتازة/s);
    expect(requests[0].body.messages[0].content[0].text).not.toMatch(/Arabic/);
    const [reject] = await readLines(path.join(out, 'rejects.jsonl'));
    expect(reject).toMatchObject({ line: 4, id: 't4', code: 'E_MISSING_FIELD', stage: 'tweetRows' });
  });

  it('stdin-shards.mjs reads a dataset piped in (a jq-like filter) and writes small shards', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'be-example-'));
    // What `jq -c 'select(.lang == "en")' fixtures/memes.jsonl` prints.
    const english = (await readFile(path.join(fixtures, 'memes.jsonl'), 'utf8'))
      .split('\n')
      .filter((l) => l && JSON.parse(l).lang === 'en')
      .map((l) => JSON.stringify(JSON.parse(l)))
      .join('\n');
    const r = await runShell(process.execPath, [path.join(examples, 'stdin-shards.mjs'), fixtures, out], { input: `${english}\n` });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['batch_00001.jsonl: lines 1-2, 2 requests', 'batch_00002.jsonl: lines 3-3, 1 requests', '3 requests in 2 shards, 0 rejected']);
    const first = await readLines(path.join(out, 'batch_00001.jsonl'));
    expect(first.map((q) => q.custom_id)).toEqual(['hm-42953', 'hm-10387']);
    expect(first[0].url).toBe('/chat/completions');
    expect(first[1].body.messages[0].content[1].text).toMatch(/hateful/);
  });

  it('csv-merge.mjs merges results into a CSV dataset, quoting and all', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'be-example-'));
    const results = path.join(dir, 'results');
    await import('node:fs/promises').then((fs) => fs.mkdir(results));
    await writeLines(path.join(results, 'batch_1.output.jsonl'), [okLine('armeme-0001', explained('شرح, مع فاصلة')), okLine('hm-42953', explained('a "quoted" one'))]);
    await writeLines(path.join(results, 'batch_1.errors.jsonl'), [httpErrorLine('hm-55501', 500, 'server_error', 'boom')]);
    const out = path.join(dir, 'merged.csv');
    const r = await runShell(process.execPath, [path.join(examples, 'csv-merge.mjs'), path.join(fixtures, 'memes.csv'), results, out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`4 rows, 2 explained, without: api_error 1, no_result 1 → ${out}`);
    const original: Record<string, string>[] = parse(await readFile(path.join(fixtures, 'memes.csv')), { columns: true });
    const merged: Record<string, string>[] = parse(await readFile(out), { columns: true });
    expect(Object.keys(merged[0] ?? {})).toEqual(['id', 'img_path', 'class_label', 'text', 'annotator', 'generated_explanation']);
    expect(merged.map(({ generated_explanation: _, ...rest }: Record<string, string>) => rest)).toEqual(original);
    expect(merged.map((m: Record<string, string>) => m.generated_explanation)).toEqual(['a "quoted" one', '', 'شرح, مع فاصلة', '']);
    const errors = await readLines(`${out}.errors.jsonl`);
    expect(errors.map((e) => [e.id, e.reason])).toEqual([['hm-10387', 'no_result'], ['hm-55501', 'api_error']]);
  });

  it('merge-stages.mjs, the reverse stages composed by hand, writes what the merge command writes, byte for byte', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'be-example-'));
    const results = path.join(dir, 'results');
    await import('node:fs/promises').then((fs) => fs.mkdir(results));
    await writeLines(path.join(results, 'batch_1.output.jsonl'), [okLine('armeme-0001', explained('شرح')), okLine('hm-42953', explained('one')), '{damaged', okLine('nobody', explained('x'))]);
    await writeLines(path.join(results, 'batch_2.output.jsonl'), [okLine('hm-42953', explained('two, newer'))]);
    await writeLines(path.join(results, 'batch_1.errors.jsonl'), [httpErrorLine('hm-77140', 500, 'server_error', 'boom')]);
    const dataset = path.join(fixtures, 'memes.jsonl');
    const byHand = path.join(dir, 'by-hand.jsonl');
    const r = await runShell(process.execPath, [path.join(examples, 'merge-stages.mjs'), dataset, results, byHand]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`7 rows, 2 explained, without: api_error 1, no_result 4; 1 extra results, 1 unmatched, 1 bad lines → ${byHand}`);
    const byCli = path.join(dir, 'by-cli.jsonl');
    const cli = await runShell(process.execPath, [path.join(examples, '../dist/bin/batch-explain.js'), 'merge', '--dataset', dataset, '--results', results, '--output', byCli, '--quiet']);
    expect(cli.code).toBe(0);
    expect(await readFile(byHand, 'utf8')).toBe(await readFile(byCli, 'utf8'));
    expect((await readLines(byHand)).map((row) => row.generated_explanation)).toContain('two, newer');
  });
});
