// Benchmark: direct mode. (1) `run --provider direct` of N ArMeme-like rows (~185 kB request
// lines) against `batch-explain serve` in its own process: wall time, requests/s and peak RSS
// (VmHWM) of the CLI, for growing N (memory must stay flat); then the same command again, which
// finds every row answered (the resume path: answered ids read, every row skipped, merge).
// (2) The set of answered ids alone: load time and table bytes for M success lines.
//   node bench/direct.mjs [--rows 2000,10000] [--ids 1000000] [--concurrency 8] [--dir DIR]
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateDataset, datasetId } from './gen-dataset.mjs';
import { generateImages } from './gen-images.mjs';
import { measure } from './measure.mjs';

const here = import.meta.dirname;
const cli = path.join(here, '../dist/bin/batch-explain.js');
const { values } = parseArgs({ options: { rows: { type: 'string', default: '2000,10000' }, ids: { type: 'string', default: '1000000' }, concurrency: { type: 'string', default: '8' }, dir: { type: 'string' } } });
const dir = path.join(values.dir ?? path.join(tmpdir(), 'batch-explain-bench'), 'direct');
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });

const server = spawn(cli, ['serve', '--port', '0', '--data-dir', path.join(dir, 'server'), '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise((resolve) => server.stdout.once('data', (c) => resolve(String(c).split('\n')[0])));
const table = [];
try {
  await generateImages({ dir: path.join(dir, '..', 'images'), count: 200, meanKb: 150 });
  for (const rows of values.rows.split(',').map(Number)) {
    const dataset = path.join(dir, `dataset-${rows}.jsonl`);
    await generateDataset({ rows, images: path.join(dir, '..', 'images'), out: dataset });
    const at = (name) => path.join(dir, `${name}-${rows}`);
    const args = [cli, 'run', '--provider', 'direct', '--base-url', `${url}/v1`, '--dataset', dataset, '--prompt', 'armeme_explanation_arabic', '--results-dir', at('results'), '--out-dir', at('out'), '--output', `${at('merged')}.jsonl`, '--direct-concurrency', values.concurrency, '--quiet'];
    const first = await measure(args);
    table.push([rows, 'send + merge', first.seconds, rows / first.seconds, first.rssMb]);
    const again = await measure(args);
    table.push([rows, 'again: all answered', again.seconds, rows / again.seconds, again.rssMb]);
  }
} finally {
  server.kill('SIGTERM');
}
console.log(`node ${process.version}; server: batch-explain serve (its own process), --direct-concurrency ${values.concurrency}\n`);
console.log('rows    | run                  | wall s | rows/s | peak RSS MB');
console.log('--------|----------------------|--------|--------|------------');
for (const [rows, what, s, rate, rss] of table) console.log(`${String(rows).padStart(7)} | ${what.padEnd(20)} | ${s.toFixed(2).padStart(6)} | ${rate.toFixed(0).padStart(6)} | ${rss.toFixed(1).padStart(10)}`);

// (2) The answered-id set: M success lines as direct mode writes them, ids of ~110 bytes.
const { DoneIds, addResultFiles } = await import('../dist/src/core/direct/done-ids.js');
const ids = Number(values.ids);
const file = path.join(dir, 'direct-1.output.jsonl');
const out = createWriteStream(file);
const body = '{"id":"chatcmpl-x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"{\\"explanation\\":\\"…\\"}"},"finish_reason":"stop"}]}';
for (let i = 0; i < ids; i++) {
  const line = `{"id":"direct_req_${i.toString(16).padStart(24, '0')}","custom_id":${JSON.stringify(datasetId(i))},"response":{"status_code":200,"request_id":"r","body":${body}},"error":null}\n`;
  if (!out.write(line)) await once(out, 'drain');
}
out.end();
await once(out, 'finish');
const heapBefore = process.memoryUsage();
let start = process.hrtime.bigint();
const done = new DoneIds();
addResultFiles(done, [file]);
const loadS = Number(process.hrtime.bigint() - start) / 1e9;
start = process.hrtime.bigint();
let hits = 0;
for (let i = 0; i < ids; i += 10) if (done.has(datasetId(i)) && !done.has(`${datasetId(i)}x`)) hits++;
const lookS = Number(process.hrtime.bigint() - start) / 1e9;
const after = process.memoryUsage();
console.log(`\nanswered-id set: ${ids.toLocaleString('en-US')} ids loaded in ${loadS.toFixed(2)} s; table ${(done.bytes / 1e6).toFixed(1)} MB (${(done.bytes / ids).toFixed(1)} bytes/id); ` +
  `array buffers +${((after.arrayBuffers - heapBefore.arrayBuffers) / 1e6).toFixed(1)} MB; ${(2 * hits).toLocaleString('en-US')} lookups (half hits) in ${lookS.toFixed(2)} s`);
done.close();
await rm(file);
