import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI, runCli } from '../helpers/cli.js';
import { countingResponder, startTinyServer, withLocalServer as withServer } from '../helpers/direct-server.js';
import { requestLine, tempDir } from '../helpers/server.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));

async function dataset(dir: string, n: number): Promise<string> {
  const file = path.join(dir, 'data.jsonl');
  const rows = Array.from({ length: n }, (_, i) => JSON.stringify({ id: `k-${i}`, img_path: path.join(fixtures, 'images', 'face.png'), class_label: 'hateful', text: `row k-${i}` }));
  await writeFile(file, `${rows.join('\n')}\n`);
  return file;
}

/** Ids with a complete success line in the results folder. */
async function answeredIds(resultsDir: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const name of await readdir(resultsDir).catch(() => [] as string[])) {
    if (!name.endsWith('.output.jsonl')) continue;
    const text = await readFile(path.join(resultsDir, name), 'utf8');
    for (const line of text.split('\n').slice(0, -1)) ids.add(JSON.parse(line).custom_id);
  }
  return ids;
}

function runArgs(data: string, baseUrl: string, extra: string[] = []): string[] {
  return ['run', '--provider', 'direct', '--base-url', baseUrl, '--dataset', data, '--prompt', 'hateful_memes_explanation', '--output', 'merged.jsonl', ...extra];
}

describe('batch-explain run --provider direct', () => {
  it('runs the whole job against an OpenAI-compatible server; the key reaches the server only', async () => {
    const dir = await tempDir('be-direct-cli-');
    const data = await dataset(dir, 6);
    const key = 'sk-direct-cli-secret-4242';
    await withServer({ apiKey: key }, async (baseUrl) => {
      const env = { OPENAI_API_KEY: key };
      const ok = await runCli(runArgs(data, baseUrl, ['--api-key-env', 'OPENAI_API_KEY']), { cwd: dir, env });
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stderr).toMatch(/direct: 6 rows = 6 answered \+ 0 failed \+ 0 rejected \+ 0 skipped/);
      expect(ok.stderr).toMatch(/merge: 6 rows = 6 explained/);
      // A second run sends nothing and merges the same.
      const again = await runCli(runArgs(data, baseUrl, ['--api-key-env', 'OPENAI_API_KEY']), { cwd: dir, env });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/6 rows = 0 answered \+ 0 failed \+ 0 rejected \+ 6 skipped/);
      // A wrong key: stopped at the first answer, exit 2, the key not told.
      const wrong = await runCli(runArgs(data, baseUrl, ['--results-dir', 'other', '--api_key_env', 'OPENAI_API_KEY']), { cwd: dir, env: { OPENAI_API_KEY: 'sk-wrong-key-777' } });
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toMatch(/HTTP 401.*check the API key/);
      const written = await Promise.all(
        (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => readFile(path.join(e.parentPath, e.name), 'utf8')),
      );
      for (const text of [ok.stdout, ok.stderr, again.stderr, wrong.stderr, ...written]) {
        expect(text).not.toContain(key);
        expect(text).not.toContain('sk-wrong-key-777');
      }
      expect((await readFile(path.join(dir, 'merged.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(6);
    });
  });

  it('does not send OPENAI_API_KEY to a server other than api.openai.com unless --api-key-env names it', async () => {
    const dir = await tempDir('be-direct-key-');
    const requests = path.join(dir, 'requests.jsonl');
    await writeFile(requests, ['a', 'b'].map((id) => `${requestLine(id)}\n`).join(''));
    const key = 'sk-openai-only-5150';
    const server = await startTinyServer();
    try {
      const send = (extra: string[], env: NodeJS.ProcessEnv) => runCli(['send', '--requests', requests, '--base-url', server.url, '--results-dir', `results-${extra.length}-${Object.keys(env).length}`, ...extra], { cwd: dir, env });
      const unasked = await send([], { OPENAI_API_KEY: key });
      expect(unasked.code, unasked.stderr).toBe(0);
      expect(server.seen.map((s) => s.authorization)).toEqual([undefined, undefined]);
      expect(unasked.stderr).toMatch(/OPENAI_API_KEY is set but not sent to 127\.0\.0\.1:\d+ .*--api-key-env OPENAI_API_KEY sends it/);
      const asked = await send(['--api-key-env', 'OPENAI_API_KEY'], { OPENAI_API_KEY: key });
      expect(asked.code, asked.stderr).toBe(0);
      expect(asked.stderr).toMatch(/with the key in \$OPENAI_API_KEY/);
      expect(server.seen.slice(2).map((s) => s.authorization)).toEqual([`Bearer ${key}`, `Bearer ${key}`]);
      // A variable named but not set is a mistake, not "no key".
      const unset = await send(['--api-key-env', 'VLLM_API_KEY'], { OPENAI_API_KEY: key, VLLM_API_KEY: '' });
      expect(unset.code).toBe(2);
      expect(unset.stderr).toMatch(/--api-key-env VLLM_API_KEY: the variable is not set/);
      expect(server.seen).toHaveLength(4);
      for (const r of [unasked, asked, unset]) expect(r.stderr + r.stdout).not.toContain(key);
    } finally {
      await server.close();
    }
  });

  it('refuses a key over plain http to another machine unless --allow-http-key, before writing anything', async () => {
    const dir = await tempDir('be-direct-http-');
    // 192.0.2.0/24 is TEST-NET-1: never reached, the check comes first.
    const r = await runCli(runArgs(await dataset(dir, 1), 'http://192.0.2.1:8000/v1', ['--api-key-env', 'LAB_KEY']), { cwd: dir, env: { LAB_KEY: 'lab-key-1' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/an API key would cross the network unencrypted to 192\.0\.2\.1:8000 .*--allow-http-key/);
    expect(await readdir(dir)).toEqual(['data.jsonl']);
  });

  it('never shows user:pass@ of the base URL, on stderr or in the results', async () => {
    const dir = await tempDir('be-direct-userinfo-');
    const requests = path.join(dir, 'requests.jsonl');
    await writeFile(requests, ['a', 'b', 'c'].map((id) => `${requestLine(id)}\n`).join(''));
    const closed = await startTinyServer();
    await closed.close();
    const withCredentials = (url: string) => url.replace('//', '//alice:s3cret-pw@');
    // Nothing listens there: failure lines, then the run stops after two failures in a row.
    const unreachable = await runCli(['send', '--requests', requests, '--base-url', withCredentials(closed.url), '--max-retries', '0', '--max-consecutive-failures', '2'], { cwd: dir });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(new RegExp(`direct to ${closed.url}/chat/completions`));
    expect(unreachable.stderr).toMatch(/last 2 requests all failed/);
    const failures = await readFile(path.join(dir, 'results', 'direct-1.errors.jsonl'), 'utf8');
    expect(failures).toContain(`${closed.url}/chat/completions: `);
    // A server that refuses the credentials: the run stops on the 401.
    const server = await startTinyServer(() => ({ status: 401, body: { error: { message: 'bad credentials' } } }));
    try {
      const refused = await runCli(['send', '--requests', requests, '--base-url', withCredentials(server.url), '--results-dir', 'other'], { cwd: dir });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`${server.url}/chat/completions refused the request with HTTP 401`);
      for (const text of [unreachable.stderr, refused.stderr, failures]) expect(text).not.toMatch(/s3cret-pw|alice/);
    } finally {
      await server.close();
    }
  });

  it('asks for --base-url', async () => {
    const dir = await tempDir('be-direct-cli-');
    const r = await runCli(['run', '--provider', 'direct', '--dataset', await dataset(dir, 1), '--prompt', 'hateful_memes_explanation'], { cwd: dir, env: { OPENAI_BASE_URL: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--provider direct needs --base-url/);
  });

  it('killed with SIGKILL mid-run and run again: every row once, no row that had an answer sent again', { timeout: 180_000 }, async () => {
    const dir = await tempDir('be-direct-kill-');
    const data = await dataset(dir, 40);
    const resultsDir = path.join(dir, 'results');
    let child: ChildProcess | null = null;
    let killAt = Infinity;
    const { answered, responder } = countingResponder({
      delayMs: 15,
      onAnswer: (total) => {
        if (total >= killAt) child?.kill('SIGKILL');
      },
    });
    await withServer({ responder }, async (baseUrl) => {
      const args = runArgs(data, baseUrl, ['--direct-concurrency', '4', '--quiet']);
      const start = () =>
        new Promise<NodeJS.Signals | number | null>((resolve, reject) => {
          child = spawn(process.execPath, [CLI, ...args], { cwd: dir, stdio: 'ignore' });
          child.on('error', reject);
          child.on('exit', (code, signal) => resolve(signal ?? code));
        });
      let total = 0;
      for (const step of [6, 9, 12]) {
        const before = await answeredIds(resultsDir);
        const counts = new Map(answered);
        killAt = total + step;
        const ended = await start();
        expect(ended).toBe('SIGKILL');
        total = [...answered.values()].reduce((a, b) => a + b, 0);
        // Rows with an answer on disk before this run were not sent by it.
        for (const id of before) expect(answered.get(id), id).toBe(counts.get(id));
      }
      const before = await answeredIds(resultsDir);
      const counts = new Map(answered);
      // The killed runs left answers on disk (27 answers were given before the kills).
      expect(before.size).toBeGreaterThan(0);
      killAt = Infinity;
      expect(await start()).toBe(0);
      for (const id of before) expect(answered.get(id), id).toBe(counts.get(id));
    });
    // Every row answered, and merged once, in order.
    expect(answered.size).toBe(40);
    const merged = (await readFile(path.join(dir, 'merged.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(merged.map((r) => r.id)).toEqual(Array.from({ length: 40 }, (_, i) => `k-${i}`));
    expect(merged.every((r) => typeof r.generated_explanation === 'string')).toBe(true);
    // Only requests in flight at a kill were answered twice: at most concurrency (4) a kill.
    const twice = [...answered.values()].filter((n) => n > 1).length;
    expect(twice).toBeLessThanOrEqual(3 * 4);
    expect((await readdir(resultsDir)).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('SIGINT stops sending with 130 and says how to resume; the next run finishes', { timeout: 60_000 }, async () => {
    const dir = await tempDir('be-direct-int-');
    const data = await dataset(dir, 12);
    let child: ChildProcess | null = null;
    const { answered, responder } = countingResponder({
      delayMs: 100,
      onAnswer: (total) => {
        if (total === 2) child?.kill('SIGINT');
      },
    });
    await withServer({ responder }, async (baseUrl) => {
      const args = runArgs(data, baseUrl, ['--direct-concurrency', '2']);
      const stopped = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
        let stderr = '';
        child = spawn(process.execPath, [CLI, ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
        child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stderr }));
      });
      expect(stopped.code).toBe(130);
      expect(stopped.stderr).toMatch(/run the same command again to send the rest/);
      const done = await runCli(args, { cwd: dir });
      expect(done.code, done.stderr).toBe(0);
      expect(done.stderr).toMatch(/merge: 12 rows = 12 explained/);
    });
    expect(answered.size).toBe(12);
  });
});

describe('batch-explain send', () => {
  it('sends `build --out -` lines from stdin; merge folds the answers in', async () => {
    const dir = await tempDir('be-send-cli-');
    const data = await dataset(dir, 5);
    const built = await runCli(['build', '--dataset', data, '--prompt', 'hateful_memes_explanation', '--out', '-', '--quiet'], { cwd: dir });
    expect(built.code, built.stderr).toBe(0);
    const { answered, responder } = countingResponder();
    await withServer({ responder }, async (baseUrl) => {
      const sent = await runCli(['send', '--requests', '-', '--base-url', baseUrl, '--concurrency', '2'], { cwd: dir, input: `${built.stdout}not a request line\n` });
      expect(sent.code, sent.stderr).toBe(0);
      expect(sent.stderr).toMatch(/direct: 6 request lines = 5 answered \+ 0 failed \+ 1 rejected/);
      expect(sent.stderr).toMatch(/-:6: E_BAD_JSON/);
      expect(sent.stderr).toMatch(/next: batch-explain merge/);
    });
    expect(answered.size).toBe(5);
    const merged = await runCli(['merge', '--dataset', data, '--results', 'results', '--output', 'merged.jsonl'], { cwd: dir });
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stderr).toMatch(/5 rows = 5 explained/);
  });

  it('documents its flags and direct mode in --help', async () => {
    const send = await runCli(['send', '--help']);
    expect(send.stdout).toMatch(/--base-url/);
    expect(send.stdout).toMatch(/--rpm/);
    expect(send.stdout).toMatch(/--tpm/);
    expect(send.stdout).toMatch(/--api-key-env/);
    const run = await runCli(['run', '--help']);
    expect(run.stdout).toMatch(/"direct"/);
    expect(run.stdout).toMatch(/--direct-concurrency/);
  });
});
