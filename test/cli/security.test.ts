import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';
import { startBatchServer, type BatchServer } from '../../src/server/server.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const memes = path.join(fixtures, 'memes.jsonl');

/** Every file under `dir`, whatever its kind. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

/** Asserts that `key` is in no text and no file under the folders; returns how many files were read. */
async function expectKeyNowhere(key: string, texts: string[], folders: string[]): Promise<number> {
  for (const text of texts) expect(text).not.toContain(key);
  // A key cut in two by a line break, or encoded, would still leak: look for its halves and its base64 too.
  const needles = [key, key.slice(0, 12), key.slice(-12), Buffer.from(key).toString('base64').slice(0, 16)];
  let files = 0;
  for (const folder of folders) {
    for (const file of await filesUnder(folder)) {
      const bytes = await readFile(file);
      for (const needle of needles) expect(bytes.includes(needle), `${needle} in ${file}`).toBe(false);
      files++;
    }
  }
  return files;
}

describe('security through the CLI', () => {
  it('run with --provider openai and OPENAI_API_KEY, a failing round included: the key is in no output, log, manifest, result, error or temp file', { timeout: 120_000 }, async () => {
    const key = 'sk-proj-KNOWN-SECRET-7f3a9c2e51d04b8a';
    const serverDir = await tempDir('be-key-server-');
    // Half the lines fail: the first round leaves rows without an explanation, the next round resubmits them.
    let server: BatchServer = await startBatchServer({ dataDir: serverDir, apiKey: key, faults: { lineFailureRate: 0.5, seed: 8 } });
    const cwd = await tempDir('be-key-job-');
    const tmp = path.join(cwd, 'tmp');
    await mkdir(tmp);
    const env = { OPENAI_API_KEY: key, OPENAI_BASE_URL: `${server.url}/v1`, TMPDIR: tmp };
    const args = (rounds: number) => ['run', '--provider', 'openai', '--dataset', memes, '--prompt', 'hateful_memes_explanation', '--output', 'merged.jsonl', '--max-requests', '3', '--max-rounds', String(rounds), '--poll-interval', '0.1', '--tmp-dir', 'sort-tmp', '--sort-memory', '1MiB'];
    const texts: string[] = [];
    try {
      const first = await runCli(args(1), { cwd, env });
      texts.push(first.stdout, first.stderr);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stderr).toMatch(/resubmit round 1/);
      // A wrong key: refused with one line that quotes neither key.
      const wrong = await runCli(['status', '--provider', 'openai', '--json'], { cwd, env: { ...env, OPENAI_API_KEY: 'sk-wrong-key-000000000000' } });
      texts.push(wrong.stdout, wrong.stderr);
      expect(wrong.stdout + wrong.stderr).not.toContain('sk-wrong-key-000000000000');
      // Then every line succeeds: a re-run resubmits what is left and completes.
      await server.close();
      server = await startBatchServer({ dataDir: serverDir, apiKey: key, port: server.port });
      const again = await runCli(args(2), { cwd, env });
      texts.push(again.stdout, again.stderr);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/merge: 7 rows = 7 explained/);
    } finally {
      await server.close();
    }
    const names = (await filesUnder(cwd)).map((f) => path.relative(cwd, f));
    for (const expected of ['merged.jsonl', 'merged.jsonl.errors.jsonl', 'batches/manifest.jsonl', 'batches/rejects.jsonl', 'batches/batch_00001.jsonl']) expect(names).toContain(expected);
    expect(names.filter((n) => n.startsWith('batches/results/') && n.endsWith('.errors.jsonl')).length, names.join(' ')).toBeGreaterThan(0);
    expect(names.filter((n) => n.startsWith('batches/r1_')).length, names.join(' ')).toBeGreaterThan(0);
    const read = await expectKeyNowhere(key, texts, [cwd, serverDir]);
    expect(read).toBeGreaterThan(15);
  });

  it('a failing API stops run (and submit) with one line, no stack and no key; the same command completes once the API is back', { timeout: 120_000 }, async () => {
    const key = 'sk-KNOWN-SECRET-for-the-storm-1234567890';
    const serverDir = await tempDir('be-storm-server-');
    let server = await startBatchServer({ dataDir: serverDir, apiKey: key, faults: { storm429: 100_000, retryAfterSeconds: 0, routes: '^/batches' } });
    const cwd = await tempDir('be-storm-job-');
    const env = { OPENAI_API_KEY: key, OPENAI_BASE_URL: `${server.url}/v1` };
    const args = ['run', '--provider', 'openai', '--dataset', memes, '--prompt', 'hateful_memes_explanation', '--output', 'merged.jsonl', '--poll-interval', '0.1', '--request-timeout', '30'];
    try {
      const failed = await runCli(args, { cwd, env });
      expect(failed.code).toBe(1);
      const lines = failed.stderr.trim().split('\n');
      expect(lines.at(-1)).toMatch(/^batch-explain: the API still failed after \d+ attempts \(last: 429 Rate limit reached .*\)\. Nothing is lost: run the same command again to resume$/);
      expect(failed.stderr).not.toMatch(/\n\s+at |internal error/);
      // submit words it the same way (the line is the CLI's: the library throws RetriesExhaustedError).
      const submitCwd = await tempDir('be-storm-submit-');
      const submitted = await runCli(['submit', ...args.slice(1, 7), '--request-timeout', '30'], { cwd: submitCwd, env });
      expect(submitted.code).toBe(1);
      expect(submitted.stderr.trim().split('\n').at(-1)).toMatch(/^batch-explain: the API still failed after \d+ attempts \(last: 429 Rate limit reached .*\)\. Nothing is lost: run the same command again to resume$/);
      await server.close();
      server = await startBatchServer({ dataDir: serverDir, apiKey: key, port: server.port });
      const again = await runCli(args, { cwd, env });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/merge: 7 rows = 7 explained/);
      await expectKeyNowhere(key, [failed.stdout, failed.stderr, submitted.stdout, submitted.stderr, again.stdout, again.stderr], [cwd, submitCwd, serverDir]);
      const bad = await runCli([...args.slice(0, -2), '--request-timeout', '0'], { cwd, env });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--request-timeout: expected a number of seconds above 0, got 0/);
    } finally {
      await server.close();
    }
  });

  it('never fetches an image URL: a row pointing at a listening server is rejected with zero connections made', { timeout: 60_000 }, async () => {
    let connections = 0;
    const listener = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', () => resolve()));
    const port = (listener.address() as { port: number }).port;
    try {
      const cwd = await tempDir('be-url-');
      await copyFile(path.join(fixtures, 'images/face.png'), path.join(cwd, 'face.png'));
      const rows = [
        { id: 'remote-1', img_path: `http://127.0.0.1:${port}/x.png`, class_label: 'hateful', text: 'a' },
        { id: 'remote-2', img_path: `https://127.0.0.1:${port}/y.jpg`, class_label: 'hateful', text: 'b' },
        { id: 'local', img_path: 'face.png', class_label: 'not-hateful', text: 'c' },
      ];
      await writeFile(path.join(cwd, 'data.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const built = await runCli(['build', '--dataset', 'data.jsonl', '--prompt', 'hateful_memes_explanation', '--out-dir', 'batches'], { cwd });
      expect(built.code, built.stderr).toBe(0);
      const rejects = (await readFile(path.join(cwd, 'batches/rejects.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      expect(rejects.map((r) => [r.id, r.code])).toEqual([
        ['remote-1', 'E_REMOTE_IMAGE'],
        ['remote-2', 'E_REMOTE_IMAGE'],
      ]);
      expect((await readFile(path.join(cwd, 'batches/batch_00001.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 200));
      expect(connections).toBe(0);
    } finally {
      listener.close();
    }
  });
});
