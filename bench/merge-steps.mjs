// The merge's steps, timed one by one in one process: how long each lasted from the moment the
// merge told it had begun (`onStep`: its first batch came through) to the next, the highest
// RSS meanwhile (sampled every 50 ms on a thread), the CPU time of the process's threads, and the
// share of the machine's CPU time left idle (from /proc/stat: on a machine doing nothing else, the
// time the merge's threads spent waiting for each other). For finding where a change costs; the merge's
// figures to quote come from bench/merge.mjs, one process per command.
//   node bench/merge-steps.mjs [--rows 1000000] [--dir DIR] [--dist dist] [--runs 1] [--no-rejects]
// Needs the data bench/merge.mjs generates (run it once first with the same --rows and --dir).
// --dist: another build's dist/ (main's, for steps before and after a change). --no-rejects: without
// the build's rejects, as bench/merge.mjs runs `merge` (every dataset line's JSON is then checked).
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, dir: { type: 'string' }, dist: { type: 'string' }, runs: { type: 'string', default: '1' }, 'no-rejects': { type: 'boolean', default: false } } });
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

/** The machine's CPU time, idle and in all (clock ticks), and this process's (all its threads). */
function cpuTicks() {
  const all = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const own = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return { idle: all[3] + all[4], total: all.reduce((a, b) => a + b, 0), own: Number(own[11]) + Number(own[12]) };
}
const TICKS = 100;

const output = path.join(dir, 'steps-out.jsonl');
const rejects = values['no-rejects'] ? {} : { rejectsPath: path.join(dir, 'rejects.jsonl') };
for (let run = 1; run <= Number(values.runs); run++) {
  const lines = [];
  let last = performance.now();
  let lastTicks = cpuTicks();
  let step = 'start';
  const next = (name) => {
    const now = performance.now();
    const ticks = cpuTicks();
    const kb = Atomics.exchange(peak, 0, 0);
    const idle = (100 * (ticks.idle - lastTicks.idle)) / Math.max(1, ticks.total - lastTicks.total);
    // A step shorter than the sampling period may have no sample.
    lines.push(`${step.padEnd(13)} ${((now - last) / 1000).toFixed(2).padStart(6)} s   peak RSS ${kb === 0 ? '     -' : (kb / 1024).toFixed(1).padStart(6)} MB   cpu ${((ticks.own - lastTicks.own) / TICKS).toFixed(2).padStart(5)} s   idle ${idle.toFixed(0).padStart(3)}%`);
    last = now;
    lastTicks = ticks;
    step = name;
  };
  const start = performance.now();
  await merge({ dataset, results: [path.join(dir, 'results')], output, ...rejects, tmpDir: dir, onStep: next });
  next('end');
  console.log(`run ${run} (${dist}): ${((performance.now() - start) / 1000).toFixed(2)} s\n${lines.slice(1).join('\n')}`);
}
await rm(output, { force: true });
await rm(`${output}.errors.jsonl`, { force: true });
process.exit(0);
