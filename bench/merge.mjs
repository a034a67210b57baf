// Benchmark: `batch-explain merge` of N dataset rows with N shuffled result lines (~700-byte
// explanations), measured alternately with DuckDB's join of the same files (bench/duckdb-merge.mjs:
// read_json, json_extract_string, a left join on id, in row order, to JSONL) and, with
// `--controls duckdb,sort`, `LC_ALL=C sort` of the result file. Prints wall time, CPU time,
// rows/s and peak RSS (VmHWM) for each.
//   node bench/merge.mjs [--rows 1000000] [--runs 1] [--warmup 1] [--sort-memory 16MiB,64MiB] [--controls duckdb] [--files 1] [--cli dist/bin/batch-explain.js] [--before OTHER_CLI] [--dir DIR]
// --files N: the result lines split into N files (a job's batches: `run` at a million rows downloads 25), for merge and DuckDB alike.
// --before: another build measured beside this one in each round (main's, for figures before and after a change).
// The warm-up rounds (one sort and one merge of each memory, not counted) come first: on our VMs
// the first command to write a gigabyte pays for memory the machine had not touched yet.
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { generateDataset } from './gen-dataset.mjs';
import { generateImages } from './gen-images.mjs';
import { generateResults } from './gen-results.mjs';

const here = import.meta.dirname;
const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '1' }, warmup: { type: 'string', default: '1' }, 'sort-memory': { type: 'string', default: '16MiB,64MiB' }, controls: { type: 'string', default: 'duckdb' }, files: { type: 'string', default: '1' }, cli: { type: 'string' }, before: { type: 'string' }, dir: { type: 'string' } } });
// --cli: another build of the CLI (a copy of main's dist/, for figures before and after a change).
const cli = values.cli ?? path.join(here, '../dist/bin/batch-explain.js');
const rows = Number(values.rows);
const controls = values.controls.split(',');
const dir = path.join(values.dir ?? path.join(tmpdir(), 'batch-explain-bench'), `merge-${rows}`);
await mkdir(path.join(dir, 'results'), { recursive: true });
const dataset = path.join(dir, 'dataset.jsonl');
const results = path.join(dir, 'results', 'batch_1.output.jsonl');
if (!existsSync(results)) {
  await generateImages({ dir: path.join(dir, '..', 'images'), count: 200, meanKb: 150 });
  await generateDataset({ rows, images: path.join(dir, '..', 'images'), out: dataset });
  await generateResults({ rows, out: results });
}
const files = Number(values.files);
const resultsDir = files > 1 ? path.join(dir, `results-${files}`) : path.join(dir, 'results');
if (files > 1 && !existsSync(resultsDir)) await splitLines(results, resultsDir, files, rows);
const resultFiles = (await readdir(resultsDir)).map((f) => path.join(resultsDir, f));

/** `file`'s `lines` lines in `parts` files of consecutive lines, in `into` (made through a temporary folder: a split cut short is not taken for one). */
async function splitLines(file, into, parts, lines) {
  const partial = `${into}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial);
  let n = 0;
  let part = -1;
  let out = null;
  for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    // Line n goes to part floor(n * parts / lines): `parts` files (of `lines` >= `parts`), within a line of each other's size.
    if (Math.floor((n * parts) / lines) !== part) {
      if (out) await finished(out.end());
      part = Math.floor((n * parts) / lines);
      out = createWriteStream(path.join(partial, `batch_${part + 1}.output.jsonl`));
    }
    n++;
    if (!out.write(`${text}\n`)) await once(out, 'drain');
  }
  if (out) await finished(out.end());
  await rename(partial, into);
}

/**
 * Runs a shell command line: its wall time, its CPU time (user + system, all its processes and
 * threads: the shell's `times`, less sensitive than wall time to other work on the machine) and
 * the peak RSS of a node process in it.
 */
async function measure(commandLine) {
  const rssFile = path.join(dir, `rss-${Math.random().toString(36).slice(2)}`);
  const start = process.hrtime.bigint();
  const child = spawn('sh', ['-c', `${commandLine}\ntimes >&3`], { stdio: ['ignore', 'ignore', 'inherit', 'pipe'], env: { ...process.env, BENCH_RSS_FILE: rssFile, NODE_OPTIONS: `--import=${path.join(here, 'report-rss.mjs')}` } });
  let times = '';
  child.stdio[3].on('data', (d) => (times += d));
  const code = await new Promise((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`${commandLine} exited ${code}`);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rss = existsSync(rssFile) ? Number(await readFile(rssFile, 'utf8')) / 1024 : NaN;
  await rm(rssFile, { force: true });
  // `times`: the shell's user and system time, then its children's.
  const children = times.trim().split('\n')[1] ?? '';
  const cpu = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
  return { seconds, cpu, rss };
}

/** Reads files whole (untimed), so that the command measured next finds them in the page cache. */
async function warm(files) {
  for (const file of files) for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) void chunk;
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
console.log(`${rows} rows: dataset ${((await stat(dataset)).size / 1e6).toFixed(0)} MB, results ${(size / 1e6).toFixed(0)} MB in ${resultFiles.length} file${resultFiles.length === 1 ? '' : 's'}; node ${process.version}\n`);
console.log('what                                     | wall s | cpu s | rows/s | peak RSS MB');
console.log('-----------------------------------------|--------|-------|--------|------------');
const line = (what, m) => console.log(`${what.padEnd(40)} | ${m.seconds.toFixed(2).padStart(6)} | ${m.cpu.toFixed(1).padStart(5)} | ${Math.round(rows / m.seconds).toString().padStart(6)} | ${Number.isNaN(m.rss) ? '(not node)' : m.rss.toFixed(1).padStart(10)}`);
const ratios = [];
const warmups = Number(values.warmup);
const clis = [...(values.before ? [['before', values.before]] : []), ['', cli]];
for (let r = -warmups; r < Number(values.runs); r++) {
  if (r === -warmups && warmups > 0) console.log('(warm-up, not counted)');
  if (r === 0 && warmups > 0) console.log('(measured)');
  // The controls run once a round, just before the merges: a ratio compares runs under the same load.
  // GNU sort's peak is not reported by our hook (it is not node): /usr/bin/time would, where installed.
  // Every command reads files in the page cache: the machine's memory manager pages out what
  // has not been read for a while (DAMON), and the sort never reads the dataset.
  const out = path.join(dir, 'merged.jsonl');
  let control = null;
  if (controls.includes('sort')) {
    await warm([results]);
    const sorted = await measure(`LC_ALL=C sort -T "${dir}" "${results}" > "${dir}/sorted.jsonl"`);
    line('LC_ALL=C sort (results file)', sorted);
    await rm(path.join(dir, 'sorted.jsonl'), { force: true });
  }
  if (controls.includes('duckdb')) {
    await warm([dataset, ...resultFiles]);
    control = await measure(`node "${path.join(here, 'duckdb-merge.mjs')}" "${dataset}" "${path.join(resultsDir, '*.jsonl')}" "${out}"`);
    line('DuckDB join (read_json, left join)', control);
    if (r === -warmups) await checkOutput(out);
    await rm(out, { force: true });
  }
  for (const memory of values['sort-memory'].split(',')) {
    for (const [label, program] of clis) {
      await warm([dataset, ...resultFiles]);
      const merged = await measure(`"${program}" merge --dataset "${dataset}" --results "${resultsDir}" --output "${out}" --sort-memory ${memory} --tmp-dir "${dir}" --quiet`);
      line(`${label ? `${label}: ` : ''}merge, --sort-memory ${memory}`, merged);
      // Every merge's output of the first round is checked (a benchmark of a wrong program means nothing).
      if (r === -warmups) await checkOutput(out);
      if (r >= 0 && control && !label) ratios.push(`${memory}: ${(merged.seconds / control.seconds).toFixed(2)}× DuckDB's time (cpu ${(merged.cpu / control.cpu).toFixed(1)}×)`);
      await rm(out, { force: true });
      await rm(`${out}.errors.jsonl`, { force: true });
    }
  }
}
if (ratios.length > 0) console.log(`\nmerge time / DuckDB's time, run by run: ${ratios.join('; ')} (targets: at most 1×; peak RSS at most 150 MB, and no higher at a lower --sort-memory)`);
