// Benchmark: peak RSS of `submit` uploading a ~180 MB shard, and of `retrieve` downloading a
// ~180 MB output file, each against `serve` running as its own process. Beside each, a control
// doing the same with the openai client's defaults (global fetch, a whole-body read), to show
// what the streaming paths save.
//   node bench/roundtrip.mjs [--dir DIR] [--output-lines 180000]
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateImages } from './gen-images.mjs';
import { generateDataset } from './gen-dataset.mjs';

const here = import.meta.dirname;
const cli = path.join(here, '../dist/bin/batch-explain.js');
const { values } = parseArgs({ options: { dir: { type: 'string' }, 'output-lines': { type: 'string', default: '180000' } } });
const dir = values.dir ?? path.join(tmpdir(), 'batch-explain-bench');
const work = path.join(dir, 'roundtrip');
await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });

/** Runs a command; returns its wall time, the peak RSS it reported (VmHWM, MB) and its stdout. */
async function measure(command, args, env = {}) {
  const rssFile = path.join(work, `rss-${Math.random().toString(36).slice(2)}`);
  const start = process.hrtime.bigint();
  const child = spawn(command, args, { cwd: work, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, BENCH_RSS_FILE: rssFile, NODE_OPTIONS: `--import=${path.join(here, 'report-rss.mjs')}` } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const code = await new Promise((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`);
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, rssMb: Number(await readFile(rssFile, 'utf8')) / 1024, stdout };
}

// The server, as users run it.
const server = spawn(cli, ['serve', '--port', '0', '--data-dir', path.join(work, 'server'), '--max-requests', '1000000', '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve) => server.stdout.once('data', (c) => resolve(String(c).split('\n')[0])));
const env = { OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: `${url}/v1` };
const rows = [];
try {
  // 1. submit: a dataset of ~1,000 rows of ~150 kB images is one ~180 MB shard and a small one.
  await generateImages({ dir: path.join(dir, 'images'), count: 200, meanKb: 150 });
  const dataset = path.join(work, 'dataset.jsonl');
  await generateDataset({ rows: 1000, images: path.join(dir, 'images'), out: dataset });
  const sub = await measure(cli, ['submit', '--provider', 'openai', '--dataset', dataset, '--prompt', 'armeme_explanation_arabic', '--out-dir', 'batches', '--quiet'], env);
  const shard = (await stat(path.join(work, 'batches/batch_00001.jsonl'))).size;
  rows.push(['submit (build + streamed upload)', `${(shard / 1e6).toFixed(1)} MB shard + rest`, sub.seconds, sub.rssMb]);
  const ctl = await measure(process.execPath, [path.join(here, 'upload-control.mjs'), path.join(work, 'batches/batch_00001.jsonl')], env);
  rows.push(['control: files.create, default fetch', `${(shard / 1e6).toFixed(1)} MB shard`, ctl.seconds, ctl.rssMb]);

  // 2. retrieve: a text-only batch whose output file is ~180 MB.
  const lines = Number(values['output-lines']);
  const input = path.join(work, 'text-input.jsonl');
  const text = 'A human expert labelled this meme as: propaganda\nText extracted: ' + 'مصر أولاً '.repeat(20);
  const body = [];
  for (let i = 0; i < lines; i++) body.push(JSON.stringify({ custom_id: `t-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o', messages: [{ role: 'user', content: text }] } }));
  await writeFile(input, `${body.join('\n')}\n`);
  const made = await measure(process.execPath, [path.join(here, 'make-batch.mjs'), input], env);
  const batchId = made.stdout.trim();
  await writeFile(path.join(work, 'tracking.txt'), `${batchId},text-input.jsonl\n`);
  const ret = await measure(cli, ['retrieve', '--provider', 'openai', '--tracking-file', 'tracking.txt', '--out-dir', 'results', '--wait', '--poll-interval', '1', '--quiet'], env);
  const outSize = (await stat(path.join(work, `results/${batchId}.output.jsonl`))).size;
  rows.push(['retrieve (streamed download)', `${(outSize / 1e6).toFixed(1)} MB output`, ret.seconds, ret.rssMb]);
  const ctl2 = await measure(process.execPath, [path.join(here, 'download-control.mjs'), batchId], env);
  rows.push(['control: files.content().text()', `${(outSize / 1e6).toFixed(1)} MB output`, ctl2.seconds, ctl2.rssMb]);
} finally {
  server.kill('SIGTERM');
}
console.log(`node ${process.version}; server: batch-explain serve (its own process)\n`);
console.log('what                                  | size                   | wall s | peak RSS MB');
console.log('--------------------------------------|------------------------|--------|------------');
for (const [what, size, s, rss] of rows) console.log(`${what.padEnd(37)} | ${size.padEnd(22)} | ${s.toFixed(2).padStart(6)} | ${rss.toFixed(1).padStart(10)}`);
