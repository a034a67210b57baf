// Benchmark: `batch-explain report` over a generated merged file of N rows (~100-word Arabic
// explanations, its errors file beside it), as its own process. Prints wall time, rows/s and
// peak RSS (VmHWM), after checking the report's figures against the generator's.
//   node bench/report.mjs [--rows 1000000] [--runs 1] [--dir DIR]
import { spawn } from 'node:child_process';
import { readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchMerged } from './gen-merged.mjs';

const here = import.meta.dirname;
const cli = path.join(here, '../dist/bin/batch-explain.js');
const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '1' }, dir: { type: 'string' } } });
const rows = Number(values.rows);
const dir = path.join(values.dir ?? path.join(tmpdir(), 'batch-explain-bench'), `report-${rows}`);
const { input, truth } = await benchMerged({ rows, dir });

// The floor under any report: every line read and parsed, nothing checked (same reader, same Node flags).
const FLOOR = `import { bufferLines } from ${JSON.stringify(path.join(here, '../dist/src/core/io/sync-lines.js'))};
let n = 0; for (const v of bufferLines(process.argv[1])) { JSON.parse(v.buf.toString('utf8', v.start, v.end)); n++; } console.log(n);`;

/** Runs the CLI with the peak-RSS hook; returns seconds, peak RSS (MB) and stdout. */
async function measure(args, command = cli) {
  const rssFile = path.join(dir, `rss-${Math.random().toString(36).slice(2)}`);
  const start = process.hrtime.bigint();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BENCH_RSS_FILE: rssFile, NODE_OPTIONS: `--import=${path.join(here, 'report-rss.mjs')}` } });
  let stdout = '';
  child.stdout.on('data', (c) => (stdout += c));
  const code = await new Promise((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`batch-explain ${args.join(' ')} exited ${code}`);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rss = Number(await readFile(rssFile, 'utf8')) / 1024;
  await rm(rssFile, { force: true });
  return { seconds, rss, stdout };
}

const size = (await stat(input)).size;
console.log(`${rows} rows, ${(size / 1e6).toFixed(0)} MB merged file; node ${process.version}\n`);
console.log('run | what                 | wall s | rows/s  | MB/s | peak RSS MB');
console.log('----|----------------------|--------|---------|------|------------');
const line = (r, what, m) => console.log(`${String(r).padStart(3)} | ${what.padEnd(20)} | ${m.seconds.toFixed(2).padStart(6)} | ${Math.round(rows / m.seconds).toString().padStart(7)} | ${Math.round(size / 1e6 / m.seconds).toString().padStart(4)} | ${m.rss.toFixed(1).padStart(10)}`);
const ratios = [];
for (let r = 1; r <= Number(values.runs); r++) {
  const floor = await measure(['--max-semi-space-size=8', '--input-type=module', '-e', FLOOR, input], process.execPath);
  line(r, 'read + JSON.parse', floor);
  const flagged = path.join(dir, 'flagged.jsonl');
  const m = await measure(['report', '--input', input, '--language', 'ar', '--json', '--flagged', flagged]);
  // A benchmark of a wrong report means nothing: its figures must be the generator's.
  const got = JSON.parse(m.stdout);
  for (const key of ['rows', 'explained', 'flaggedRows']) if (got[key] !== truth[key]) throw new Error(`report: ${key} ${got[key]}, expected ${truth[key]}`);
  if (JSON.stringify(got.byFlag) !== JSON.stringify(truth.byFlag)) throw new Error(`report: byFlag ${JSON.stringify(got.byFlag)}, expected ${JSON.stringify(truth.byFlag)}`);
  line(r, 'batch-explain report', m);
  ratios.push((m.seconds / floor.seconds).toFixed(2));
  await rm(flagged, { force: true });
}
console.log(`\nreport time / read-and-parse time, run by run: ${ratios.join(', ')}. Target: peak RSS <= 150 MB for 1,000,000 rows`);
