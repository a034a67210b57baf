// Benchmark: the whole of `batch-explain run` (build, upload, wait, download, merge) of N rows
// against `serve` running as its own process, its wall time and peak RSS (VmHWM of the run
// process). The images are a pool of tiny JPEGs (~1 kB), so that a million requests make ~2 GB of
// shards and the merge at the end is the step under test.
//   node bench/run-job.mjs [--rows 1000000] [--sort-memory 16MiB] [--cli dist/bin/batch-explain.js] [--before OTHER_CLI] [--dir DIR] [--trace PREFIX]
// --sort-memory: a comma-separated list, each measured; --before: another build measured beside this one.
// --trace: each run writes PREFIX-<n>.tsv, the run process's memory every second (bench/report-rss.mjs)
// with its phases (`run: submit`...) as `#` lines, and prints each phase's peak (the run then logs
// its phases: not --quiet).
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateDataset } from './gen-dataset.mjs';
import { generateImages } from './gen-images.mjs';

const here = import.meta.dirname;
const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, 'sort-memory': { type: 'string', default: '16MiB' }, cli: { type: 'string' }, before: { type: 'string' }, dir: { type: 'string' }, trace: { type: 'string' } } });
const rows = Number(values.rows);
const cli = values.cli ?? path.join(here, '../dist/bin/batch-explain.js');
const dir = path.join(values.dir ?? path.join(tmpdir(), 'batch-explain-bench'), `run-${rows}`);
const images = path.join(dir, '..', 'tiny-images');
const dataset = path.join(dir, 'dataset.jsonl');
await mkdir(dir, { recursive: true });
if (!existsSync(dataset)) {
  await generateImages({ dir: images, count: 20, meanKb: 1 });
  await generateDataset({ rows, images, out: dataset });
}

/** The peak RSS (MB) of process `pid` since it started or since the last reset, which this does (Linux). */
function takePeak(pid) {
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  return kb / 1024;
}

/**
 * Runs a command with the RSS hook; its wall time and peak RSS (MB). With `traceFile`, each phase
 * the run logs is marked there, and its peak taken (the process's peak is reset as the next begins).
 */
async function measure(command, args, env, traceFile) {
  const rssFile = path.join(dir, `rss-${Math.random().toString(36).slice(2)}`);
  const start = process.hrtime.bigint();
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env, BENCH_RSS_FILE: rssFile, ...(traceFile ? { BENCH_TRACE_FILE: traceFile } : {}), NODE_OPTIONS: `--import=${path.join(here, 'report-rss.mjs')}` } });
  let stderr = '';
  const phases = [];
  child.stderr.on('data', (c) => {
    stderr += c;
    if (!traceFile) return;
    for (const line of String(c).split('\n').filter((l) => /^run: (submit|retrieve|merge|resubmit)/.test(l))) {
      const at = Number(process.hrtime.bigint() - start) / 1e9;
      if (phases.length > 0) phases.at(-1).peakMb = takePeak(child.pid);
      else takePeak(child.pid);
      phases.push({ phase: line.slice(5).split(' ')[0], at });
      appendFileSync(traceFile, `# ${at.toFixed(1)} ${line}\n`);
    }
  });
  const code = await new Promise((resolve) => child.on('close', resolve));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`);
  const rssMb = Number(await readFile(rssFile, 'utf8')) / 1024;
  await rm(rssFile, { force: true });
  if (phases.length === 0) return { seconds, rssMb, phases };
  phases.at(-1).peakMb = rssMb;
  return { seconds, rssMb: Math.max(...phases.map((p) => p.peakMb)), phases };
}

console.log(`${rows} rows, node ${process.version}; server: batch-explain serve (its own process)\n`);
console.log('what                                 | wall s | peak RSS MB');
console.log('-------------------------------------|--------|------------');
let runs = 0;
for (const memory of values['sort-memory'].split(',')) {
  for (const [label, program] of [...(values.before ? [['before', values.before]] : []), ['', cli]]) {
    const work = path.join(dir, 'job');
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    const server = spawn(program, ['serve', '--port', '0', '--data-dir', path.join(work, 'server'), '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const url = await new Promise((resolve) => server.stdout.once('data', (c) => resolve(String(c).split('\n')[0])));
      const env = { OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: `${url}/v1` };
      const m = await measure(program, ['run', '--provider', 'openai', '--dataset', dataset, '--prompt', 'armeme_explanation_arabic', '--out-dir', path.join(work, 'batches'), '--output', path.join(work, 'merged.jsonl'), '--sort-memory', memory, '--tmp-dir', work, ...(values.trace ? [] : ['--quiet'])], env, values.trace && `${values.trace}-${++runs}.tsv`);
      console.log(`${`${label ? `${label}: ` : ''}run, --sort-memory ${memory}`.padEnd(36)} | ${m.seconds.toFixed(1).padStart(6)} | ${m.rssMb.toFixed(1).padStart(10)}`);
      if (m.phases.length > 0) console.log(`  by phase (from s, peak MB): ${m.phases.map((p) => `${p.phase} ${p.at.toFixed(0)} s ${p.peakMb.toFixed(1)}`).join(', ')}`);
    } finally {
      server.kill('SIGTERM');
      await rm(work, { recursive: true, force: true });
    }
  }
}
