// The merge's steps, timed one by one in one process: how long each lasted from the moment the
// merge told it had begun (`onStep`: its first batch came through) to the next, and the highest
// RSS meanwhile (sampled every 50 ms on a thread). For finding where a change costs; the merge's
// figures to quote come from bench/merge.mjs, one process per command.
//   node bench/merge-steps.mjs [--rows 1000000] [--dir DIR] [--dist dist] [--runs 1]
// Needs the data bench/merge.mjs generates (run it once first with the same --rows and --dir).
// --dist: another build's dist/ (main's, for steps before and after a change).
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, dir: { type: 'string' }, dist: { type: 'string' }, runs: { type: 'string', default: '1' } } });
const dist = path.resolve(values.dist ?? path.join(import.meta.dirname, '../dist'));
const dir = path.join(values.dir ?? path.join(tmpdir(), 'batch-explain-bench'), `merge-${values.rows}`);
const dataset = path.join(dir, 'dataset.jsonl');
if (!existsSync(dataset)) throw new Error(`${dataset}: no data; run bench/merge.mjs --rows ${values.rows} first`);
const { merge } = await import(path.join(dist, 'src/pipeline/merge.js'));

const peak = new Int32Array(new SharedArrayBuffer(4));
const sampler = new Worker(
  `const { workerData } = require('node:worker_threads'); const fs = require('node:fs');
   setInterval(() => { const kb = Number(/VmRSS:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]); if (kb > Atomics.load(workerData, 0)) Atomics.store(workerData, 0, kb); }, 50);`,
  { eval: true, workerData: peak },
);
sampler.unref();

const output = path.join(dir, 'steps-out.jsonl');
for (let run = 1; run <= Number(values.runs); run++) {
  const lines = [];
  let last = performance.now();
  let step = 'start';
  const next = (name) => {
    const now = performance.now();
    const kb = Atomics.exchange(peak, 0, 0);
    // A step shorter than the sampling period may have no sample.
    lines.push(`${step.padEnd(13)} ${((now - last) / 1000).toFixed(2).padStart(6)} s   peak RSS ${kb === 0 ? '     -' : (kb / 1024).toFixed(1).padStart(6)} MB`);
    last = now;
    step = name;
  };
  const start = performance.now();
  await merge({ dataset, results: [path.join(dir, 'results')], output, rejectsPath: path.join(dir, 'rejects.jsonl'), tmpDir: dir, onStep: next });
  next('end');
  console.log(`run ${run} (${dist}): ${((performance.now() - start) / 1000).toFixed(2)} s\n${lines.slice(1).join('\n')}`);
}
await rm(output, { force: true });
await rm(`${output}.errors.jsonl`, { force: true });
process.exit(0);
