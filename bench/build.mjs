// Benchmark: `batch-explain build` against the ceiling loop, at growing row counts and shard sizes.
// Prints rows/s, MB/s written and peak RSS for each, and the ratio of the two throughputs.
//   node bench/build.mjs [--rows 2000,20000] [--runs 3] [--dir DIR] [--max-bytes 180000000,20000000] [-- extra build flags]
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateImages } from './gen-images.mjs';
import { generateDataset } from './gen-dataset.mjs';
import { measure, median, shardStats } from './measure.mjs';

const here = import.meta.dirname;
const root = path.join(here, '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rows: { type: 'string', default: '2000,20000' },
    runs: { type: 'string', default: '3' },
    dir: { type: 'string' },
    'max-bytes': { type: 'string', default: '180000000' },
  },
});
const dir = values.dir ?? path.join(tmpdir(), 'batch-explain-bench');
const runs = Number(values.runs);
const prompt = path.join(root, 'prompts/armeme_explanation_arabic.txt');

const pool = await generateImages({ dir: path.join(dir, 'images'), count: 200, meanKb: 150 });
console.log(`image pool: ${pool.files.length} JPEGs, mean ${(pool.meanBytes / 1000).toFixed(1)} kB (${(pool.minBytes / 1000).toFixed(0)}–${(pool.maxBytes / 1000).toFixed(0)} kB)`);
console.log(`node ${process.version}, ${runs} runs each (median), build flags: ${positionals.join(' ') || '(defaults)'}\n`);
console.log('rows    | shard bytes | variant  | wall s (min–max)   | rows/s | MB/s written | peak RSS MB | shards');
console.log('--------|-------------|----------|--------------------|--------|--------------|-------------|-------');

const results = [];
for (const rows of values.rows.split(',').map(Number)) {
  const dataset = path.join(dir, `dataset-${rows}.jsonl`);
  await generateDataset({ rows, images: path.join(dir, 'images'), out: dataset });
  for (const maxBytes of values['max-bytes'].split(',')) {
  const variants = {
    ceiling: (out) => [process.execPath, path.join(here, 'ceiling-loop.mjs'), '--dataset', dataset, '--out', out, '--prompt', prompt, '--max-bytes', maxBytes],
    build: (out) => [path.join(root, 'dist/bin/batch-explain.js'), 'build', '--dataset', dataset, '--prompt', prompt, '--out-dir', out, '--max-bytes', maxBytes, '--quiet', ...positionals],
  };
  const samples = { ceiling: [], build: [] };
  for (let r = 0; r < runs; r++) {
    // Paired runs, alternating order, outputs removed between runs: the machine's noise hits both.
    for (const name of r % 2 === 0 ? ['ceiling', 'build'] : ['build', 'ceiling']) {
      const out = path.join(dir, `out-${name}`);
      await rm(out, { recursive: true, force: true });
      const m = await measure(variants[name](out));
      const { bytes, shards } = await shardStats(out);
      samples[name].push({ ...m, bytes, shards });
      await rm(out, { recursive: true, force: true });
    }
  }
  for (const name of ['ceiling', 'build']) {
    const s = samples[name];
    const times = s.map((x) => x.seconds);
    const seconds = median(times);
    const bytes = s[0].bytes;
    const row = { rows, maxBytes, variant: name, seconds, rowsPerSec: rows / seconds, mbPerSec: bytes / 1e6 / seconds, rssMb: Math.max(...s.map((x) => x.rssMb)), shards: s[0].shards };
    results.push(row);
    const spread = `${seconds.toFixed(2)} (${Math.min(...times).toFixed(2)}–${Math.max(...times).toFixed(2)})`;
    console.log(
      `${String(rows).padEnd(7)} | ${maxBytes.padStart(11)} | ${name.padEnd(8)} | ${spread.padEnd(18)} | ${row.rowsPerSec.toFixed(0).padStart(6)} | ${row.mbPerSec.toFixed(0).padStart(12)} | ${row.rssMb.toFixed(1).padStart(11)} | ${String(row.shards).padStart(6)}`,
    );
  }
  }
}

console.log('');
for (const b of results.filter((r) => r.variant === 'build')) {
  const c = results.find((r) => r.rows === b.rows && r.maxBytes === b.maxBytes && r.variant === 'ceiling');
  console.log(`${b.rows} rows, ${b.maxBytes}-byte shards: build throughput = ${((100 * b.rowsPerSec) / c.rowsPerSec).toFixed(0)}% of the ceiling loop; peak RSS ${b.rssMb.toFixed(1)} MB`);
}
for (const maxBytes of values['max-bytes'].split(',')) {
  const builds = results.filter((r) => r.variant === 'build' && r.maxBytes === maxBytes);
  if (builds.length > 1) {
    const [first, last] = [builds[0], builds[builds.length - 1]];
    console.log(`${maxBytes}-byte shards: peak RSS at ${last.rows} rows is ${((100 * last.rssMb) / first.rssMb - 100).toFixed(1)}% vs ${first.rows} rows`);
  }
}
