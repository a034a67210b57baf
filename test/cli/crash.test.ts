import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';
import { startBatchServer } from '../../src/server/server.js';
import { offlineResponder } from '../../src/server/responders.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const memes = path.join(fixtures, 'memes.jsonl');
// Four shards of two requests: kills land in build, upload, batch creation, polling, download and merge.
const args = ['run', '--dataset', memes, '--prompt', 'armeme_explanation_english', '--output', 'merged.jsonl', '--max-requests', '2', '--tmp-dir', 'sort-tmp', '--poll-interval', '0.2', '--quiet'];

/**
 * Kills of a run (each a CLI process: about a second of CPU on a busy 2-core machine), each
 * landing after start-up (a kill in node's start-up tests nothing). Once a re-run finishes a job,
 * the kills go on in a new job, so that each lands in work still to do, where the re-runs of a
 * finished job used to take most of the time (47 whole runs for 30 kills).
 */
const KILLS = 15;

/** Starts `run` in `cwd` and SIGKILLs it after `ms` (if it is still running). Resolves with how it ended. */
function runKilledAfter(cwd: string, ms: number): Promise<'killed' | number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(signal === 'SIGKILL' ? 'killed' : (code ?? -1));
    });
  });
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

/** A job folder after its last run: as an uninterrupted run left it. */
async function expectAsUninterrupted(dir: string, expected: string): Promise<void> {
  expect(await readFile(path.join(dir, 'merged.jsonl'), 'utf8')).toBe(expected);
  // No shard got a second batch: the server holds one batch per shard.
  const store = path.join(dir, '.batch-explain/local-server/batches');
  const batches = await Promise.all((await readdir(store)).filter((f) => f.endsWith('.json')).map(async (f) => JSON.parse(await readFile(path.join(store, f), 'utf8')) as { input_file_id: string; status: string }));
  const shards = (await readdir(path.join(dir, 'batches'))).filter((f) => /^batch_\d+\.jsonl$/.test(f));
  expect(shards).toHaveLength(4);
  expect(batches).toHaveLength(4);
  // Nor a second upload: input files of finished batches are deleted (the default) and output
  // files once the job is merged (run --provider local), so an upload made twice would be left over.
  const filesDir = path.join(dir, '.batch-explain/local-server/files');
  const stored = await Promise.all((await readdir(filesDir)).filter((f) => f.endsWith('.json')).map(async (f) => JSON.parse(await readFile(path.join(filesDir, f), 'utf8')) as { id: string; purpose: string; filename: string; bytes: number }));
  expect(stored.map((f) => `${f.id} ${f.purpose} ${f.filename} ${f.bytes}`)).toEqual([]);
  expect((await readdir(filesDir)).filter((f) => f.endsWith('.jsonl'))).toEqual([]);
  // Nothing half-written or temporary is left.
  const files = await filesUnder(dir);
  expect(files.filter((f) => /partial|\.tmp|batch-explain-sort-/.test(f)), files.join(' ')).toEqual([]);
  expect(await readdir(path.join(dir, 'sort-tmp')).catch(() => [])).toEqual([]);
}

describe('crash consistency', () => {
  it(`run killed with SIGKILL ${KILLS} times at random points, re-run each time, ends as an uninterrupted run`, { timeout: 240_000 }, async () => {
    // Start-up alone (node and the CLI's modules): a kill before it is over tests nothing.
    const before = Date.now();
    expect((await runCli(['--version'])).code).toBe(0);
    const startup = Date.now() - before;
    const clean = await tempDir('be-crash-clean-');
    const started = Date.now();
    const first = await runCli(args, { cwd: clean });
    expect(first.code, first.stderr).toBe(0);
    const duration = Date.now() - started;
    const expected = await readFile(path.join(clean, 'merged.jsonl'), 'utf8');

    let dir = await tempDir('be-crash-');
    let seed = 20261125;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    let kills = 0;
    for (let attempt = 0; kills < KILLS && attempt < 200; attempt++) {
      // Anywhere from the end of start-up to the end of an uninterrupted run.
      const outcome = await runKilledAfter(dir, startup + Math.floor(random() * Math.max(50, duration - startup)));
      if (outcome === 'killed') {
        kills++;
        continue;
      }
      // It finished before the kill: the job, killed and re-run so far, is whole. Kills go on in a
      // new job (in this one, nothing would be left to do but the merge).
      expect(outcome).toBe(0);
      await expectAsUninterrupted(dir, expected);
      dir = await tempDir('be-crash-');
    }
    expect(kills).toBe(KILLS);
    // How many jobs finished between kills depends on the machine's speed (none, on a quiet one):
    // each that did was checked above; the last job is finished and checked below either way.
    const last = await runCli(args, { cwd: dir });
    expect(last.code, last.stderr).toBe(0);
    await expectAsUninterrupted(dir, expected);
  });
});

describe('SIGINT and SIGTERM', () => {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal} while waiting for batches stops with ${code} and says how to resume; the re-run completes`, { timeout: 60_000 }, async () => {
      const dir = await tempDir('be-signal-');
      // Batches that cannot finish before the signal, however busy the machine: the server answers
      // no line until it is let go (the local provider's batches finish as soon as they can, and
      // its polls come as soon as they do).
      let letGo = () => {};
      const held = new Promise<void>((resolve) => (letGo = resolve));
      const offline = offlineResponder();
      const server = await startBatchServer({ dataDir: await tempDir('be-signal-server-'), responder: { name: offline.name, respond: async (body, s) => (await held, offline.respond(body, s)) } });
      try {
        const env = { ...process.env, OPENAI_API_KEY: 'sk-signal', OPENAI_BASE_URL: `${server.url}/v1` };
        const runArgs = ['run', '--provider', 'openai', '--dataset', memes, '--prompt', 'armeme_explanation_english', '--output', 'merged.jsonl', '--max-requests', '2', '--poll-interval', '0.1'];
        const stopped = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
          const child = spawn(process.execPath, [CLI, ...runArgs], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
          let stderr = '';
          child.stderr.on('data', (c: Buffer) => {
            stderr += c;
            if (/run: retrieve/.test(stderr) && !child.killed) child.kill(signal);
          });
          child.on('error', reject);
          child.on('close', (exit) => resolve({ code: exit, stderr }));
        });
        expect(stopped.code, stopped.stderr).toBe(code);
        expect(stopped.stderr).toMatch(new RegExp(`stopped by ${signal}\\. The manifest keeps what was done: run the same command again to resume`));
        expect(stopped.stderr).not.toMatch(/\n\s+at /); // no stack trace
        letGo();
        const again = await runCli(runArgs, { cwd: dir, env });
        expect(again.code, again.stderr).toBe(0);
        expect(again.stderr).toMatch(/merge: 7 rows = 7 explained/);
        expect((await filesUnder(dir)).filter((f) => /partial|\.tmp|batch-explain-sort-/.test(f))).toEqual([]);
      } finally {
        letGo();
        await server.close();
      }
    });
  }
});
