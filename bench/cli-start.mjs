// Benchmark: the CPU time (user + system, from the kernel's accounting of the finished process) of
// short CLI commands on the bundled fixtures, where a command's start is most of its cost: what a
// test suite of ~290 CLI runs pays. With --before, another build's CLI is measured alternately
// (the same command one after the other), for figures before and after a change.
//   node bench/cli-start.mjs [--runs 8] [--cli dist/bin/batch-explain.js] [--before OTHER_CLI]
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const here = import.meta.dirname;
const { values } = parseArgs({ options: { runs: { type: 'string', default: '8' }, cli: { type: 'string' }, before: { type: 'string' } } });
const clis = [...(values.before ? [['before', values.before]] : []), ['after', values.cli ?? path.join(here, '../dist/bin/batch-explain.js')]];
const dir = await mkdtemp(path.join(tmpdir(), 'cli-start-'));
await cp(path.join(here, '../fixtures'), path.join(dir, 'fixtures'), { recursive: true });

/** Runs `cli args` in the bench folder: its CPU seconds (the shell's `times` for its children). */
async function cpuOf(cli, args) {
  const child = spawn('sh', ['-c', `"$0" "$@" >/dev/null 2>&1; code=$?; times >&3; exit $code`, cli, ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit', 'pipe'] });
  let times = '';
  child.stdio[3].on('data', (d) => (times += d));
  const code = await new Promise((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`${cli} ${args.join(' ')} exited ${code}`);
  const children = times.trim().split('\n')[1] ?? '';
  return [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
}

const prompt = ['--prompt', 'armeme_explanation_english'];
// A finished job for merge and status to read.
await cpuOf(clis.at(-1)[1], ['run', '--dataset', 'fixtures/memes.jsonl', ...prompt, '--output', 'job.jsonl', '--out-dir', 'job']);
const commands = {
  '--version': () => ['--version'],
  build: (l) => ['build', '--dataset', 'fixtures/memes.jsonl', ...prompt, '--out-dir', `b-${l}`],
  run: (l) => ['run', '--dataset', 'fixtures/memes.jsonl', ...prompt, '--output', `r-${l}.jsonl`, '--out-dir', `r-${l}`],
  merge: (l) => ['merge', '--dataset', 'fixtures/memes.jsonl', '--results', 'job', '--output', `m-${l}.jsonl`, '--quiet'],
  status: () => ['status', '--manifest', 'job/manifest.jsonl', '--provider', 'local', '--quiet'],
};
const sums = new Map();
try {
  for (let r = 0; r < Number(values.runs); r++) {
    for (const [name, args] of Object.entries(commands)) {
      for (const [label, cli] of clis) {
        await rm(path.join(dir, `b-${label}`), { recursive: true, force: true });
        await rm(path.join(dir, `r-${label}`), { recursive: true, force: true });
        sums.set(`${name} ${label}`, (sums.get(`${name} ${label}`) ?? 0) + (await cpuOf(cli, args(label))));
      }
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
console.log(`CPU seconds per command, mean of ${values.runs} (load ${(await import('node:os')).loadavg()[0].toFixed(1)} at the end)\n`);
console.log(`command   | ${clis.map(([l]) => l.padStart(7)).join(' | ')}`);
for (const name of Object.keys(commands)) console.log(`${name.padEnd(9)} | ${clis.map(([l]) => (sums.get(`${name} ${l}`) / Number(values.runs)).toFixed(3).padStart(7)).join(' | ')}`);
