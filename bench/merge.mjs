// Benchmark: `batch-explain merge` of N dataset rows with N shuffled result lines (~700-byte
// explanations), beside `LC_ALL=C sort` of the same result file in the same run. Prints wall
// time, rows/s and peak RSS (VmHWM) for each.
//   node bench/merge.mjs [--rows 1000000] [--runs 1] [--sort-memory 64MiB,16MiB] [--dir DIR]
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { generateDataset } from './gen-dataset.mjs';
import { generateImages } from './gen-images.mjs';
import { generateResults } from './gen-results.mjs';

const here = import.meta.dirname;
const cli = path.join(here, '../dist/bin/batch-explain.js');
const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '1' }, 'sort-memory': { type: 'string', default: '64MiB,16MiB' }, dir: { type: 'string' } } });
const rows = Number(values.rows);
const dir = path.join(values.dir ?? path.join(tmpdir(), 'batch-explain-bench'), `merge-${rows}`);
await mkdir(path.join(dir, 'results'), { recursive: true });
const dataset = path.join(dir, 'dataset.jsonl');
const results = path.join(dir, 'results', 'batch_1.output.jsonl');
if (!existsSync(results)) {
  await generateImages({ dir: path.join(dir, '..', 'images'), count: 200, meanKb: 150 });
  await generateDataset({ rows, images: path.join(dir, '..', 'images'), out: dataset });
  await generateResults({ rows, out: results });
}

async function measure(command, args, env = {}) {
  const rssFile = path.join(dir, `rss-${Math.random().toString(36).slice(2)}`);
  const start = process.hrtime.bigint();
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env, BENCH_RSS_FILE: rssFile, NODE_OPTIONS: `--import=${path.join(here, 'report-rss.mjs')}` } });
  const code = await new Promise((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}`);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rss = existsSync(rssFile) ? Number(await readFile(rssFile, 'utf8')) / 1024 : NaN;
  return { seconds, rss };
}

/** A benchmark of a wrong program means nothing: every row must be there, in order, explained. */
async function checkOutput(file) {
  let n = 0;
  for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    n++;
    const row = JSON.parse(text);
    if (typeof row.generated_explanation !== 'string') throw new Error(`${file}:${n}: no explanation`);
  }
  if (n !== rows) throw new Error(`${file}: ${n} rows, expected ${rows}`);
}

const size = (await stat(results)).size;
console.log(`${rows} rows: dataset ${((await stat(dataset)).size / 1e6).toFixed(0)} MB, results ${(size / 1e6).toFixed(0)} MB; node ${process.version}\n`);
console.log('what                                   | wall s | rows/s | peak RSS MB');
console.log('---------------------------------------|--------|--------|------------');
const line = (what, m) => console.log(`${what.padEnd(38)} | ${m.seconds.toFixed(2).padStart(6)} | ${Math.round(rows / m.seconds).toString().padStart(6)} | ${Number.isNaN(m.rss) ? '(not node)' : m.rss.toFixed(1).padStart(10)}`);
const ratios = [];
for (let r = 0; r < Number(values.runs); r++) {
  // GNU sort's peak is not reported by our hook (it is not node): /usr/bin/time would, where installed.
  const sorted = await measure('sh', ['-c', `LC_ALL=C sort -T "${dir}" "${results}" > "${dir}/sorted.jsonl"`]);
  line('LC_ALL=C sort (results file)', sorted);
  await rm(path.join(dir, 'sorted.jsonl'), { force: true });
  for (const memory of values['sort-memory'].split(',')) {
    const out = path.join(dir, 'merged.jsonl');
    const merged = await measure(cli, ['merge', '--dataset', dataset, '--results', path.join(dir, 'results'), '--output', out, '--sort-memory', memory, '--tmp-dir', dir, '--quiet']);
    line(`batch-explain merge, --sort-memory ${memory}`, merged);
    if (r === 0) await checkOutput(out);
    ratios.push(`${memory}: ${(merged.seconds / sorted.seconds).toFixed(2)}× the sort`);
    await rm(out, { force: true });
    await rm(`${out}.errors.jsonl`, { force: true });
  }
}
console.log(`\nmerge time / sort time, run by run: ${ratios.join('; ')} (target: at most 2×; peak RSS target: 200 MB at 64MiB)`);
