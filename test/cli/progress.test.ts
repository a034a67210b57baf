import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const ESC = '\u001b';
const stripAnsi = (s: string) => s.replace(/\u001b\[[0-9;?]*[a-zA-Z]/g, '');

/**
 * Runs the CLI under a pseudo-terminal (util-linux `script`, on every Debian): what a user at a
 * terminal sees, escape codes included.
 */
function inTerminal(args: string[], cwd: string): { code: number | null; output: string } {
  const command = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-qfec', command, '/dev/null'], { cwd, encoding: 'utf8', env: { ...process.env, COLUMNS: '160', TERM: 'xterm' } });
  if (r.error) throw new Error(`the pseudo-terminal tests need util-linux's script (apt-get install bsdutils): ${r.error.message}`);
  return { code: r.status, output: r.stdout };
}

let dir: string;
let dataset: string;

beforeAll(async () => {
  dir = await tempDir('be-progress-');
  // 2,000 rows of the fixtures' images: long enough (a second or more) for progress to show.
  const rows = (await readFile(path.join(fixtures, 'memes.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  const lines = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ ...rows[i % rows.length], id: `p${i}`, img_path: path.join(fixtures, rows[i % rows.length].img_path) }));
  dataset = path.join(dir, 'big.jsonl');
  await writeFile(dataset, `${lines.join('\n')}\n`);
});

describe('progress', () => {
  it('on a terminal: a live bar with rows, MB, shards and percent (and ETA), cleared before the summary', () => {
    const r = inTerminal(['build', '--dataset', dataset, '--prompt', 'armeme_explanation_english', '--out-dir', path.join(dir, 'tty-out'), '--max-requests', '500'], dir);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain(`${ESC}[?25l`); // cursor hidden while the bar shows
    expect(r.output).toContain(`${ESC}[?25h`); // and shown again
    // Each frame is drawn from the first column: split at the escape codes.
    const frames = r.output.replace(/\u001b\[[0-9;?]*[a-zA-Z]/g, '\n').split(/\r|\n/).filter((l) => l.startsWith('build '));
    expect(frames.length).toBeGreaterThan(0);
    expect(frames[0]).toMatch(/^build [█░]{40} \d+% \| [\d,]+ rows \([\d,]+\/s\) \| [\d.]+ MB of [\d.]+ MB read \| \d+ shards?, [\d.]+ MB/);
    // Whether a frame with an ETA is drawn depends on how long the build takes here: the ETA is
    // checked frame by frame on a fake clock (progress-frames.test.ts); here only its form.
    for (const f of frames) expect(f.trimEnd()).toMatch(/^build [█░]{40} \d+% \| .* MB( \| ETA \d+s)?$/);
    // The summary follows, on its own lines, after the bar is cleared.
    expect(stripAnsi(r.output)).toMatch(/build: 2,000 rows read = 2,000 requests \+ 0 rejected/);
  });

  it('elsewhere: plain lines at --progress-interval, no escape codes; --quiet: nothing', async () => {
    const plain = await runCli(['build', '--dataset', dataset, '--prompt', 'armeme_explanation_english', '--out-dir', path.join(dir, 'plain-out'), '--progress-interval', '0.05'], { cwd: dir });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).not.toContain(ESC);
    const lines = plain.stderr.split('\n').filter((l) => l.startsWith('build: ') && l.includes('read |'));
    expect(lines.length, plain.stderr).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^build: [\d,]+ rows \([\d,]+\/s\) \| [\d.]+ MB of [\d.]+ MB read \| \d+ shards?, [\d.]+ MB( \| \d+%, ETA \d+s)?$/);
    const quiet = await runCli(['build', '--dataset', dataset, '--prompt', 'armeme_explanation_english', '--out-dir', path.join(dir, 'quiet-out'), '--progress-interval', '0.05', '--quiet'], { cwd: dir });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
  });

  it('merge on a terminal shows its step; run and retrieve without one print a line when the batches change', async () => {
    const job = await tempDir('be-progress-run-');
    const run = await runCli(['run', '--dataset', path.join(fixtures, 'memes.jsonl'), '--prompt', 'armeme_explanation_english', '--max-requests', '3', '--poll-interval', '0.2'], { cwd: job });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain(ESC);
    expect(run.stderr).toMatch(/run: batches 3 completed; requests 7 done, 0 failed of 7/);
    const merged = inTerminal(['merge', '--dataset', path.join(fixtures, 'memes.jsonl'), '--results', path.join('batches', 'results'), '--output', 'again.jsonl'], job);
    expect(merged.code, merged.output).toBe(0);
    // The step and its time, no bar and no ETA: the steps differ in length by orders of magnitude.
    expect(stripAnsi(merged.output)).toMatch(/merge \| step: [a-z ]+ \| \d+s/);
    expect(stripAnsi(merged.output)).not.toMatch(/ETA/);
    expect(stripAnsi(merged.output)).toMatch(/merge: 7 rows = 7 explained/);
  });
});
