import { appendFile, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';
import { withFixtures } from '../helpers/fixtures-folder.js';
import { startBatchServer } from '../../src/server/server.js';

/** What a researcher meets past the happy path of a job: an edited dataset, another folder, a lost download, a wrong URL. */



const run = ['run', '--dataset', 'memes.jsonl', '--prompt', 'armeme_explanation_english'];

describe('jobs past the happy path', () => {
  it('an edited dataset never resumes its old job: refused, naming the change; a touched or copied file is the same dataset', async () => {
    const cwd = await withFixtures('be-edges-edited-');
    expect((await runCli([...run, '--output', 'a.jsonl'], { cwd })).code).toBe(0);
    // The same bytes, a new time: the job resumes.
    await writeFile(path.join(cwd, 'memes.jsonl'), await readFile(path.join(cwd, 'memes.jsonl')));
    const touched = await runCli([...run, '--output', 'a.jsonl'], { cwd });
    expect(touched.stderr).toMatch(/resuming the job in batches/);
    // A label changed: refused, nothing written.
    const text = await readFile(path.join(cwd, 'memes.jsonl'), 'utf8');
    await writeFile(path.join(cwd, 'memes.jsonl'), text.replace('"class_label": "propaganda"', '"class_label": "not-propaganda"'));
    const edited = await runCli([...run, '--output', 'b.jsonl'], { cwd });
    expect(edited.code).toBe(2);
    expect(edited.stderr).toMatch(/memes.jsonl changed since the job started from it \(.* bytes, modified .*\): the job in batches's answers would not fit the rows as they are now/);
    expect(existsSync(path.join(cwd, 'b.jsonl'))).toBe(false);
    // A row appended: refused too (its row would be left without an answer, reported as no result).
    await writeFile(path.join(cwd, 'memes.jsonl'), text);
    await appendFile(path.join(cwd, 'memes.jsonl'), text.split('\n')[0]!.replace('armeme-0001', 'new-1') + '\n');
    expect((await runCli([...run, '--output', 'b.jsonl'], { cwd })).code).toBe(2);
    // A new job for the dataset as it is now: every row sent, every row answered.
    const fresh = await runCli([...run, '--out-dir', 'batches-new', '--output', 'b.jsonl'], { cwd });
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stderr).toMatch(/8 rows = 8 explained/);
  }, 90_000);

  it('a job works from any folder: merge and status by --manifest from elsewhere', async () => {
    const cwd = await withFixtures('be-edges-where-');
    expect((await runCli([...run, '--output', 'a.jsonl'], { cwd })).code).toBe(0);
    const elsewhere = await tempDir('be-edges-elsewhere-');
    const manifest = path.join(cwd, 'batches', 'manifest.jsonl');
    const merged = await runCli(['merge', '--dataset', path.join(cwd, 'memes.jsonl'), '--manifest', manifest, '--output', 'm.jsonl'], { cwd: elsewhere });
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stderr).toMatch(/7 rows = 7 explained/);
    const status = await runCli(['status', '--manifest', manifest], { cwd: elsewhere });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/1 batch\(es\): 1 completed/);
    expect(existsSync(path.join(elsewhere, '.batch-explain'))).toBe(false);
  }, 60_000);

  it('merge: a --manifest that does not exist is an error; a job folder given as --results is that job', async () => {
    const cwd = await withFixtures('be-edges-merge-');
    expect((await runCli([...run, '--output', 'a.jsonl'], { cwd })).code).toBe(0);
    const missing = await runCli(['merge', '--dataset', 'memes.jsonl', '--manifest', 'nope.jsonl'], { cwd });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('batch-explain: --manifest nope.jsonl: no such file\n');
    const status = await runCli(['status', '--manifest', 'nope.jsonl'], { cwd });
    expect(status.stderr).toMatch(/--manifest nope.jsonl: no such file/);
    const folder = await runCli(['merge', '--dataset', 'memes.jsonl', '--results', 'batches', '--output', 'm.jsonl'], { cwd });
    expect(folder.code, folder.stderr).toBe(0);
    expect(folder.stderr).toMatch(/7 rows = 7 explained/);
  }, 60_000);

  it('a lost download is downloaded again; a first URL that never answered can be corrected; report reads an output that left lines out', async () => {
    const server = await startBatchServer({ dataDir: await tempDir() });
    try {
      const cwd = await withFixtures('be-edges-openai-');
      const env = { OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: '' };
      const openai = ['--provider', 'openai', '--poll-interval', '0.1'];
      // Nothing answers there: nothing is confirmed, so the job may move to the right URL.
      const wrong = await runCli([...run, ...openai, '--base-url', 'http://127.0.0.1:9/v1', '--api-retries', '0', '--output', 'a.jsonl'], { cwd, env });
      expect(wrong.code).toBe(1);
      const right = await runCli([...run, ...openai, '--base-url', `${server.url}/v1`, '--output', 'a.jsonl'], { cwd, env });
      expect(right.code, right.stderr).toBe(0);
      expect(right.stderr).toMatch(/7 rows = 7 explained/);
      // Once the provider holds the job, another URL is refused.
      const moved = await runCli(['status', '--base-url', 'http://127.0.0.1:9/v1'], { cwd, env });
      expect(moved.code).toBe(2);
      // A downloaded file deleted by hand: the next run downloads it again.
      for (const f of await readdir(path.join(cwd, 'batches', 'results'))) await rm(path.join(cwd, 'batches', 'results', f));
      const again = await runCli([...run, '--output', 'a.jsonl'], { cwd, env });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/7 rows = 7 explained/);
      // A line that is not JSON: the output leaves it out, and report still reads output and errors file.
      await appendFile(path.join(cwd, 'memes.jsonl'), 'not json\n');
      const withBad = await runCli([...run, ...openai, '--base-url', `${server.url}/v1`, '--out-dir', 'batches-bad', '--output', 'bad.jsonl'], { cwd, env });
      expect(withBad.code, withBad.stderr).toBe(0);
      const report = await runCli(['report', '--input', 'bad.jsonl'], { cwd });
      expect(report.code, report.stderr).toBe(0);
    } finally {
      await server.close();
    }
  }, 90_000);

  it('a lost download the provider no longer has (the local server keeps nothing of a merged job): one line saying so and what to do', async () => {
    const cwd = await withFixtures('be-edges-gone-');
    expect((await runCli([...run, '--output', 'a.jsonl'], { cwd })).code).toBe(0);
    for (const f of await readdir(path.join(cwd, 'batches', 'results'))) await rm(path.join(cwd, 'batches', 'results', f));
    const again = await runCli([...run, '--output', 'a.jsonl'], { cwd });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/batch-explain: .*\.output\.jsonl \(output of batch_\w+\) was downloaded before and is gone, and the provider no longer has file-\w+: restore the file, or send the dataset again as a new job \(--out-dir NEW\)\n$/);
  }, 60_000);

  it('jobs listed for --manifest show the settings in which they differ', async () => {
    const cwd = await withFixtures('be-edges-list-');
    expect((await runCli([...run, '--output', 'a.jsonl'], { cwd })).code).toBe(0);
    expect((await runCli([...run, '--max-tokens', '500', '--output', 'b.jsonl'], { cwd })).code).toBe(0);
    const status = await runCli(['status'], { cwd });
    expect(status.code).toBe(2);
    expect(status.stderr).toMatch(/--manifest batches\/manifest.jsonl .*maxTokens 4096\)\n {2}--manifest batches-2\/manifest.jsonl .*maxTokens 500\)/);
  }, 60_000);

  it('flag values and the output path are checked before anything is written', async () => {
    const cwd = await withFixtures('be-edges-flags-');
    for (const [flags, message] of [
      [['--max-tokens', '-5'], /--max-tokens: expected a positive integer, got -5/],
      [['--max-tokens', 'abc'], /--max-tokens: expected a positive integer, got something that is not a number/],
      [['--max-requests', '0'], /--max-requests: expected a positive integer, got 0/],
      [['--output', 'images'], /--output images: is a folder; name the merged file/],
    ] as Array<[string[], RegExp]>) {
      const r = await runCli([...run, ...flags], { cwd });
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr, flags.join(' ')).toMatch(message);
      expect(existsSync(path.join(cwd, 'batches')), flags.join(' ')).toBe(false);
      expect(existsSync(path.join(cwd, '.batch-explain')), flags.join(' ')).toBe(false);
    }
  }, 60_000);
});
