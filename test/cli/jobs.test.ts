import { spawn } from 'node:child_process';
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli, runShell, CLI } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';
import { withFixtures } from '../helpers/fixtures-folder.js';
import { startBatchServer } from '../../src/server/server.js';

/** Issue 13's scenarios, each as a user meets it: jobs that never mix, starts that never lock, outputs that parse. */

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const memes = path.join(fixtures, 'memes.jsonl');
const ENGLISH = /^\[batch-explain offline responder/;
const ARABIC = /^\[إجابة تجريبية/;

/** Every line a JSON object, read strictly (a line that is not fails the whole file, as with pandas and jq). */
async function readJsonl(file: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(file, 'utf8');
  return text.split('\n').filter((l) => l !== '').map((l) => {
    const value: unknown = JSON.parse(l);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${file}: not an object: ${l}`);
    return value as Record<string, unknown>;
  });
}


// Control bytes a terminal acts on: C0 but tab and newline, DEL, and C1 (as UTF-8).
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('jobs through the CLI', () => {
  it('two jobs in one folder never mix: the second gets batches-2 by itself, each output holds only its own answers, each resumes', async () => {
    const cwd = await withFixtures('be-jobs-two-');
    const en = await runCli(['run', '--dataset', 'memes.jsonl', '--prompt', 'armeme_explanation_english', '--output', 'en.jsonl'], { cwd });
    expect(en.code, en.stderr).toBe(0);
    const ar = await runCli(['run', '--dataset', 'memes.jsonl', '--prompt', 'armeme_explanation_arabic', '--output', 'ar.jsonl'], { cwd });
    expect(ar.code, ar.stderr).toBe(0);
    expect(ar.stderr).toMatch(/run: a new job, in batches-2 \(batches holds another job\)/);
    expect(ar.stderr).toMatch(/run: the job's files are in batches-2 \(manifest batches-2\/manifest.jsonl\)\n$/);
    const enRows = await readJsonl(path.join(cwd, 'en.jsonl'));
    const arRows = await readJsonl(path.join(cwd, 'ar.jsonl'));
    expect(enRows).toHaveLength(7);
    expect(arRows).toHaveLength(7);
    for (const row of enRows) expect(row.generated_explanation).toMatch(ENGLISH);
    for (const row of arRows) expect(row.generated_explanation).toMatch(ARABIC);
    // Each job's files are in its own folder, its results included.
    expect(await readdir(path.join(cwd, 'batches-2', 'results'))).toHaveLength(1);
    expect(existsSync(path.join(cwd, 'results'))).toBe(false);

    // The same commands again: each resumes its own job, nothing is sent twice.
    const enAgain = await runCli(['run', '--dataset', 'memes.jsonl', '--prompt', 'armeme_explanation_english', '--output', 'en.jsonl'], { cwd });
    expect(enAgain.stderr).toMatch(/run: resuming the job in batches \(started /);
    const arAgain = await runCli(['run', '--dataset', 'memes.jsonl', '--prompt', 'armeme_explanation_arabic', '--output', 'ar.jsonl'], { cwd });
    expect(arAgain.stderr).toMatch(/run: resuming the job in batches-2 \(started /);
    for (const row of await readJsonl(path.join(cwd, 'ar.jsonl'))) expect(row.generated_explanation).toMatch(ARABIC);
    const manifest = (await readFile(path.join(cwd, 'batches-2', 'manifest.jsonl'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(manifest.filter((e) => e.type === 'batch')).toHaveLength(1);

    // Status needs to be told which; told, it shows that job.
    const status = await runCli(['status'], { cwd });
    expect(status.code).toBe(2);
    expect(status.stderr).toMatch(/2 jobs here; say which with --manifest:\n {2}--manifest batches\/manifest.jsonl .*armeme_explanation_english[\s\S]*--manifest batches-2\/manifest.jsonl .*armeme_explanation_arabic/);
    expect((await runCli(['status', '--manifest', 'batches-2/manifest.jsonl'], { cwd })).stdout).toMatch(/1 batch\(es\): 1 completed/);

    // A standalone merge of both jobs' results refuses, naming the jobs; --manifest picks one.
    await mkdir(path.join(cwd, 'all'));
    for (const dir of ['batches', 'batches-2']) for (const f of await readdir(path.join(cwd, dir, 'results'))) await copyFile(path.join(cwd, dir, 'results', f), path.join(cwd, 'all', f));
    const mixed = await runCli(['merge', '--dataset', 'memes.jsonl', '--results', 'batches/results', 'batches-2/results', '--output', 'm.jsonl'], { cwd });
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/the results of 2 jobs, which must not be mixed; say which with --manifest:\n {2}--manifest batches\/manifest.jsonl[\s\S]*--manifest batches-2\/manifest.jsonl/);
    const picked = await runCli(['merge', '--dataset', 'memes.jsonl', '--results', 'batches/results', 'batches-2/results', '--manifest', 'batches-2/manifest.jsonl', '--output', 'm.jsonl'], { cwd });
    expect(picked.code, picked.stderr).toBe(0);
    for (const row of await readJsonl(path.join(cwd, 'm.jsonl'))) expect(row.generated_explanation).toMatch(ARABIC);
  }, 120_000);

  it('a folder given with --out-dir that holds another job is refused, naming each setting that differs and what was sent', async () => {
    const cwd = await withFixtures('be-jobs-refuse-');
    expect((await runCli(['run', '--dataset', 'memes.jsonl', '--prompt', 'armeme_explanation_english', '--output', 'en.jsonl'], { cwd })).code).toBe(0);
    const refused = await runCli(['run', '--dataset', 'memes.jsonl', '--prompt', 'armeme_explanation_arabic', '--max-tokens', '500', '--out-dir', 'batches', '--output', 'ar.jsonl'], { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/batches\/manifest.jsonl belongs to another job .*: prompt: armeme_explanation_english.txt → armeme_explanation_arabic.txt; maxTokens: 4096 → 500\. Sent by that job so far: 1 batch created\./);
    expect(existsSync(path.join(cwd, 'ar.jsonl'))).toBe(false);
  }, 60_000);

  it('a failed start leaves nothing behind: the corrected command runs in the same folder', async () => {
    const cwd = await withFixtures('be-jobs-failed-start-');
    const missing = await runCli(['run', '--dataset', 'missing.jsonl', '--prompt', 'armeme_explanation_english'], { cwd });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/missing.jsonl: no such file/);
    const folder = await runCli(['run', '--dataset', 'images', '--prompt', 'armeme_explanation_english'], { cwd });
    expect(folder.code).toBe(1);
    expect(folder.stderr).toMatch(/images: is a folder; give the dataset file/);
    const noOutputFolder = await runCli(['run', '--dataset', 'memes.jsonl', '--prompt', 'armeme_explanation_english', '--output', 'nowhere/out.jsonl'], { cwd });
    expect(noOutputFolder.code).toBe(2);
    expect(noOutputFolder.stderr).toMatch(/--output nowhere\/out.jsonl: the folder nowhere does not exist/);
    expect(existsSync(path.join(cwd, 'batches'))).toBe(false);
    const fixed = await runCli(['run', '--dataset', 'memes.jsonl', '--prompt', 'armeme_explanation_english', '--output', 'out.jsonl'], { cwd });
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stderr).not.toMatch(/another job/);
  }, 60_000);

  it('zero requests is a failure (exit 5): it names the fields missing, those the rows have, and the format the file looks like', async () => {
    const cwd = await withFixtures('be-jobs-zero-');
    // Hateful Memes as published.
    await writeFile(path.join(cwd, 'train.jsonl'), '{"id": 42953, "img": "img/42953.png", "label": 0, "text": "its their character not their color that matters"}\n{"id": 23058, "img": "img/23058.png", "label": 0, "text": "dont be afraid to love again"}\n');
    const hateful = await runCli(['run', '--dataset', 'train.jsonl', '--prompt', 'hateful_memes_explanation'], { cwd });
    expect(hateful.code).toBe(5);
    expect(hateful.stderr).toMatch(/no row of train.jsonl became a request: 2 rows, all rejected \(E_MISSING_FIELD 2\); no "img_path", "class_label"; rows have id, img, label, text: try --preset hateful-memes/);
    expect(existsSync(path.join(cwd, 'dataset_with_explanations.jsonl'))).toBe(false);
    // Files named as JSONL that are something else: read as JSONL, every line refused; the message says what they look like.
    const cases: Array<[string, string | Buffer, RegExp]> = [
      ['labels.jsonl', 'image_name,text_ocr,offensive\nimage_1.jpg,"LOOK THERE\nMY FRIEND",not_offensive\n', /looks like CSV .*it was read as JSONL/],
      ['mami.jsonl', 'file_name\tmisogynous\tText Transcription\n1.jpg\t0\tsome text\n', /looks like TSV/],
      ['array.jsonl', '[\n  {"id": "a", "img": "images/banner.jpg", "label": 1}\n]\n', /looks like one JSON array/],
      ['keyed.jsonl', '{"1114679353714016256": {"img_url": "x", "labels": [4, 1, 3], "tweet_text": "t"}}\n', /looks like one JSON object spread over the file/],
      ['data.jsonl', Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(64, 7), Buffer.from('PAR1')]), /looks like Parquet/],
      ['empty.jsonl', '', /empty.jsonl: no rows: the dataset is empty/],
    ];
    for (const [name, content, message] of cases) {
      await writeFile(path.join(cwd, name), content);
      const built = await runCli(['build', '--dataset', name, '--prompt', 'hateful_memes_explanation', '--out-dir', `out-${name}`], { cwd });
      expect(built.code, name).toBe(5);
      expect(built.stderr, name).toMatch(message);
      expect(built.stderr, name).not.toMatch(CONTROL);
    }
    // The corrected command reuses the folder of the failed start.
    const fixed = await runCli(['run', '--dataset', 'memes.jsonl', '--prompt', 'hateful_memes_explanation', '--output', 'out.jsonl'], { cwd });
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stderr).not.toMatch(/a new job, in batches-2/);
  }, 120_000);

  it('the merged output always parses: lines that are not JSON objects go to the errors file, with their line and text', async () => {
    const cwd = await withFixtures('be-jobs-notjson-');
    const rows = (await readFile(memes, 'utf8')).trim().split('\n');
    const dataset = Buffer.concat([Buffer.from(`${rows[0]}\nnot json at all\n${rows[1]}\n[1, 2]\n`), Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]), Buffer.from(`{"id": "cut", "img_path": "images/banner.jpg"\n${rows[2]}\n`)]);
    await writeFile(path.join(cwd, 'data.jsonl'), dataset);
    const run = await runCli(['run', '--dataset', 'data.jsonl', '--prompt', 'armeme_explanation_english', '--output', 'out.jsonl'], { cwd });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/4 lines are not JSON objects: left out of the output/);
    const out = await readJsonl(path.join(cwd, 'out.jsonl'));
    expect(out.map((r) => r.id)).toEqual(['armeme-0001', 'armeme-0002', 'armeme-0003']);
    const errors = await readJsonl(path.join(cwd, 'out.jsonl.errors.jsonl'));
    const notJson = errors.filter((e) => e.reason === 'not_json');
    expect(notJson.map((e) => e.line)).toEqual([2, 4, 5, 6]);
    expect(notJson[0]).toMatchObject({ line: 2, text: 'not json at all' });
    expect(notJson[2]).toMatchObject({ line: 5, text_base64: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]).toString('base64') });
    // The standalone merge without the build's rejects reaches the same verdict.
    const merged = await runCli(['merge', '--dataset', 'data.jsonl', '--results', 'batches/results', '--output', 'again.jsonl'], { cwd });
    expect(merged.code, merged.stderr).toBe(0);
    expect((await readJsonl(path.join(cwd, 'again.jsonl'))).map((r) => r.id)).toEqual(['armeme-0001', 'armeme-0002', 'armeme-0003']);
  }, 60_000);

  it('status, retrieve and the printed hint remember the provider and base URL of a job submitted elsewhere', async () => {
    const server = await startBatchServer({ dataDir: await tempDir() });
    try {
      const cwd = await withFixtures('be-jobs-provider-');
      const env = { OPENAI_API_KEY: 'sk-test-key', OPENAI_BASE_URL: '' };
      const submitted = await runCli(['submit', '--provider', 'openai', '--base-url', `${server.url}/v1`, '--dataset', 'memes.jsonl', '--prompt', 'hateful_memes_explanation'], { cwd, env });
      expect(submitted.code, submitted.stderr).toBe(0);
      const hint = /next: (batch-explain .*)/.exec(submitted.stderr)![1]!;
      expect(hint).toBe('batch-explain retrieve --wait --manifest batches/manifest.jsonl');
      const status = await runCli(['status', '--json'], { cwd, env });
      expect(status.code, status.stderr).toBe(0);
      expect(status.stderr).toMatch(/OpenAI at http:\/\/127\.0\.0\.1:\d+\/v1/);
      expect(JSON.parse(status.stdout).totals.total).toBe(7);
      // The hint, pasted as printed.
      const retrieved = await runCli([...hint.split(' ').slice(1), '--poll-interval', '0.1'], { cwd, env });
      expect(retrieved.code, retrieved.stderr).toBe(0);
      expect(retrieved.stderr).toMatch(/requests 7 done, 0 failed of 7/);
      const merged = await runCli(['merge', '--dataset', 'memes.jsonl', '--output', 'out.jsonl'], { cwd, env });
      expect(merged.stderr).toMatch(/7 rows = 7 explained/);
      // A flag that contradicts the job is refused.
      const contradicting = await runCli(['status', '--provider', 'azure'], { cwd, env });
      expect(contradicting.code).toBe(2);
      expect(contradicting.stderr).toMatch(/--provider azure: the job of batches\/manifest.jsonl was submitted to openai/);
      // The key is in no file of the job.
      for (const name of ['manifest.jsonl']) expect(await readFile(path.join(cwd, 'batches', name), 'utf8')).not.toContain('sk-test-key');
    } finally {
      await server.close();
    }
  }, 60_000);

  it('nothing from the data drives the terminal: ESC and OSC sequences in fields and in bad lines come out escaped', async () => {
    const cwd = await withFixtures('be-jobs-escapes-');
    const lines = [
      JSON.stringify({ id: 'clear\u001b[2J', img_path: 'images/\u001b]0;pwned\u0007.jpg', class_label: 'x\u009b31m' }),
      'bad line \u001b[2J\u001b]0;title\u0007 \u007f',
      (await readFile(memes, 'utf8')).split('\n')[0]!,
    ];
    await writeFile(path.join(cwd, 'esc.jsonl'), `${lines.join('\n')}\n`);
    for (const args of [
      ['build', '--dataset', 'esc.jsonl', '--prompt', 'hateful_memes_explanation', '--out-dir', 'b'],
      ['run', '--dataset', 'esc.jsonl', '--prompt', 'hateful_memes_explanation', '--output', 'out.jsonl'],
      ['status'],
      ['merge', '--dataset', 'esc.jsonl', '--output', '-'],
    ]) {
      const r = await runCli(args, { cwd });
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(0);
      expect(r.stderr, args[0]).not.toMatch(CONTROL);
      // The merged rows on stdout are data, the dataset's own bytes (JSON escapes C0 in them); the rest is for a person.
      if (args[0] !== 'merge') expect(r.stdout, args[0]).not.toMatch(CONTROL);
    }
    const built = await runCli(['build', '--dataset', 'esc.jsonl', '--prompt', 'hateful_memes_explanation', '--out-dir', 'b2'], { cwd });
    expect(built.stderr).toMatch(/images\/\\x1b\]0;pwned\\x07\.jpg/);
    expect(built.stderr).toMatch(/bad line \\x1b\[2J/);
  }, 60_000);

  it('credentials as users keep them: ./.env is read by default, --no-env-file reads none, a missing --env-file is exit 2', async () => {
    const key = 'sk-azure-SECRET-0123456789';
    // Uploads pending for 0.2 s, not Azure's default 1.5 s: the wait for processing is still gone through (test/cli/strict-server waits seconds).
    const server = await startBatchServer({ dataDir: await tempDir(), apiKey: key, fileProcessingMs: { azure: 200 } });
    try {
      const cwd = await withFixtures('be-jobs-env-');
      await writeFile(path.join(cwd, '.env'), `AZURE_API_KEY=${key}\nAZURE_API_URL=${server.url}\nAZURE_API_VERSION=2024-10-21\nAZURE_ENGINE_NAME=gpt-4o-batch\n`);
      const env = { AZURE_API_KEY: '', AZURE_OPENAI_API_KEY: '', AZURE_API_URL: '', AZURE_API_VERSION: '', AZURE_ENGINE_NAME: '' };
      // Variables set but empty are set: dotenv leaves them. Unset them for these commands.
      const unset = Object.fromEntries(Object.keys(env).map((k) => [k, undefined]));
      const azure = await runCli(['run', '--provider', 'azure', '--dataset', 'memes.jsonl', '--prompt', 'hateful_memes_explanation', '--output', 'out.jsonl', '--poll-interval', '0.1'], { cwd, env: unset });
      expect(azure.code, azure.stderr).toBe(0);
      expect(azure.stderr).toMatch(/7 rows = 7 explained/);
      const none = await runCli(['build', '--provider', 'azure', '--no-env-file', '--dataset', 'memes.jsonl', '--prompt', 'hateful_memes_explanation', '--out', '-'], { cwd, env: unset });
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(/azure needs a deployment: pass --model NAME, or set AZURE_ENGINE_NAME in the environment or in \.\/\.env/);
      // The credentials are at hand but the provider is the default: one line says what that means.
      const local = await runCli(['run', '--dataset', 'memes.jsonl', '--prompt', 'armeme_explanation_english', '--output', 'local.jsonl'], { cwd, env: unset });
      expect(local.stderr).toMatch(/AZURE_API_KEY is set \(read from \.env\) but the provider is local: the answers will be placeholders, not a model's\. Pass --provider azure to use it\./);
      // As a user runs it: the command itself, through its shebang.
      const missing = await runShell(CLI, ['run', '--env-file', 'missing.env', '--dataset', 'memes.jsonl', '--prompt', 'armeme_explanation_english'], { cwd });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toBe('batch-explain: --env-file missing.env: no such file\n');
      for (const f of ['batches/manifest.jsonl', 'out.jsonl', 'out.jsonl.errors.jsonl']) expect(await readFile(path.join(cwd, f), 'utf8')).not.toContain(key);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('Ctrl-C says it stops, then that it stopped and how to go on: once each, no internal error', async () => {
    const cwd = await withFixtures('be-jobs-sigint-');
    const child = spawn(process.execPath, ['--', CLI, 'run', '--dataset', 'memes.jsonl', '--prompt', 'armeme_explanation_english', '--output', 'o.jsonl'], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      // At the first phase: the whole job (build, upload, batches, merge: a second of CPU or more)
      // is still ahead, so the signal lands in it however busy the machine. With the local
      // provider the wait for batches ends as soon as they finish: too short a window to aim at.
      if (!sent && stderr.includes('run: submit')) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    expect(stderr.match(/SIGINT received, stopping/g)).toHaveLength(1);
    expect(stderr.match(/stopped by SIGINT\. The manifest keeps what was done: run the same command again to resume/g)).toHaveLength(1);
    expect(stderr).not.toMatch(/internal error|stopped$/m);
  }, 60_000);

  it('retries are visible: each names the host, the cause and the wait', async () => {
    const cwd = await withFixtures('be-jobs-retries-');
    const r = await runCli(['submit', '--provider', 'openai', '--base-url', 'http://127.0.0.1:9/v1', '--api-retries', '1', '--dataset', 'memes.jsonl', '--prompt', 'hateful_memes_explanation'], { cwd, env: { OPENAI_API_KEY: 'sk-x' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/submit: shard 1: 127\.0\.0\.1:9: upload: Connection error\. \(ECONNREFUSED\); next try in \d+\.\d s/);
    expect(r.stderr).toMatch(/the API still failed after 2 attempts/);
  }, 60_000);
});
