// Benchmark: `batch-explain view` on a generated merged file of N rows (bench/gen-merged.mjs,
// ~100-word explanations). Prints the time to index the file (the command's own figure, and
// from start to its URL), RSS once indexed and at its peak, the time to serve a page of 50 rows
// from the end of the file (all rows, and filtered by a flag), a row in full, and a search that
// has to read the whole file (in its 64 MiB steps).
//   node bench/view.mjs [--rows 1000000] [--dir DIR]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchMerged } from './gen-merged.mjs';

const here = import.meta.dirname;
const cli = path.join(here, '../dist/bin/batch-explain.js');
const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, dir: { type: 'string' }, repeat: { type: 'string', default: '20' } } });
const rows = Number(values.rows);
const dir = path.join(values.dir ?? path.join(tmpdir(), 'batch-explain-bench'), `report-${rows}`);
const { input } = await benchMerged({ rows, dir });

const rssKb = (pid, field) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const rssFile = path.join(dir, 'view-rss');
const start = process.hrtime.bigint();
const child = spawn(cli, ['view', '--input', input, '--language', 'ar', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BENCH_RSS_FILE: rssFile, NODE_OPTIONS: `--import=${path.join(here, 'report-rss.mjs')}` } });
let stderr = '';
child.stderr.on('data', (c) => (stderr += c));
const [first] = await once(child.stdout, 'data');
const toUrl = ms(start) / 1000;
const url = first.toString().trim().replace(/\/$/, '');
while (!/indexed in/.test(stderr)) await new Promise((r) => setTimeout(r, 20));
const indexSeconds = Number(/indexed in ([\d.]+) s/.exec(stderr)[1]);
const indexedRss = rssKb(child.pid, 'VmRSS') / 1024;
const indexedPeak = rssKb(child.pid, 'VmHWM') / 1024;

async function timed(p) {
  const t = process.hrtime.bigint();
  const res = await fetch(url + p);
  const body = await res.json();
  if (res.status !== 200) throw new Error(`${p}: ${res.status} ${JSON.stringify(body)}`);
  return { ms: ms(t), body };
}

async function series(p) {
  const cold = await timed(p);
  const warm = [];
  for (let i = 0; i < Number(values.repeat); i++) warm.push((await timed(p)).ms);
  return { cold: cold.ms, median: median(warm), body: cold.body };
}

const lastPage = Math.ceil(rows / 50) - 1;
const end = await series(`/api/rows?size=50&page=${lastPage}`);
if (end.body.rows.length !== 50 || end.body.rows[49].id !== `row-${rows - 1}`) throw new Error('the last page is not the last 50 rows');
const shortTotal = (await timed('/api/rows?size=50&flag=too_short')).body.total;
const filtered = await series(`/api/rows?size=50&flag=too_short&page=${Math.ceil(shortTotal / 50) - 1}`);
const full = await series(`/api/rows/${rows - 1}`);
// A search for the last row's id reads the whole file, one 64 MiB step a request.
const t = process.hrtime.bigint();
let from = 0;
let steps = 0;
let found = [];
while (from !== null) {
  const { body } = await timed(`/api/rows?size=50&q=row-${rows - 1}&from=${from}`);
  found = found.concat(body.rows);
  from = body.next;
  steps++;
}
const searchMs = ms(t);
if (found.length !== 1 || found[0].id !== `row-${rows - 1}`) throw new Error(`search found ${found.length} rows`);
const afterRss = rssKb(child.pid, 'VmRSS') / 1024;
child.kill('SIGTERM');
await once(child, 'close');
const peak = Number(await readFile(rssFile, 'utf8')) / 1024;
await rm(rssFile, { force: true });

const size = (await stat(input)).size;
console.log(`${rows} rows, ${(size / 1e6).toFixed(0)} MB merged file; node ${process.version}\n`);
console.log('| what | figure |');
console.log('|---|---|');
console.log(`| index built (the command's figure) | ${indexSeconds.toFixed(1)} s (${Math.round(rows / indexSeconds)} rows/s) |`);
console.log(`| start to URL printed | ${toUrl.toFixed(1)} s |`);
console.log(`| RSS once indexed / peak so far | ${indexedRss.toFixed(1)} MB / ${indexedPeak.toFixed(1)} MB |`);
console.log(`| page of 50 rows from the end, all rows | first ${end.cold.toFixed(1)} ms, median ${end.median.toFixed(1)} ms |`);
console.log(`| page of 50 rows from the end, flag too_short (${shortTotal} rows) | first ${filtered.cold.toFixed(1)} ms, median ${filtered.median.toFixed(1)} ms |`);
console.log(`| the last row in full | first ${full.cold.toFixed(1)} ms, median ${full.median.toFixed(1)} ms |`);
console.log(`| search reading the whole file | ${(searchMs / 1000).toFixed(1)} s in ${steps} requests (${Math.round(size / 1e6 / (searchMs / 1000))} MB/s) |`);
console.log(`| RSS after the search / peak of the whole run | ${afterRss.toFixed(1)} MB / ${peak.toFixed(1)} MB |`);
