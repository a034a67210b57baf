// Benchmark: `batch-explain build` with `--resize` beside the default path, on two image pools:
// the build benchmark's ~150 kB JPEGs (they already fit 2048x768: --resize only reads their
// headers and sends them as they are) and camera-sized JPEGs (3000x2000 and 4000x3000, ~1-2 MB:
// --resize scales each to 1152x768 or 1024x768). Prints wall time, rows/s, MB written, peak RSS.
//   node bench/resize.mjs [--rows 2000] [--runs 3] [--dir DIR] [-- extra build flags for both variants]
import { mkdir, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { generateImages } from './gen-images.mjs';
import { generateDataset } from './gen-dataset.mjs';
import { measure, median, shardStats } from './measure.mjs';

const here = import.meta.dirname;
const root = path.join(here, '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rows: { type: 'string', default: '2000' }, runs: { type: 'string', default: '3' }, dir: { type: 'string' } },
});
const dir = values.dir ?? path.join(tmpdir(), 'batch-explain-bench');
const runs = Number(values.runs);
const rows = Number(values.rows);
const prompt = path.join(root, 'prompts/armeme_explanation_arabic.txt');

/** Camera-sized JPEGs: noise over a colour cast, landscape and portrait, deterministic. */
async function generateLargeImages(out, count = 16) {
  await mkdir(out, { recursive: true });
  if ((await readdir(out)).filter((n) => n.endsWith('.jpg')).length === count) return;
  for (let i = 0; i < count; i++) {
    const [w, h] = i % 4 === 3 ? [4000, 3000] : i % 4 === 2 ? [2000, 3000] : [3000, 2000];
    const noise = await sharp({ create: { width: w, height: h, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 6 + (i % 3) * 3 } } }).raw().toBuffer();
    await sharp(noise, { raw: { width: w, height: h, channels: 3 } })
      .linear([1.1 + (i % 5) / 10, 0.9, 1], [-20 + i, 25, -i])
      .jpeg({ quality: 88 })
      .toFile(path.join(out, `large${String(i).padStart(3, '0')}.jpg`));
  }
}

const pools = {
  small: path.join(dir, 'images'),
  large: path.join(dir, 'images-large'),
};
await generateImages({ dir: pools.small, count: 200, meanKb: 150 });
await generateLargeImages(pools.large);
console.log(`node ${process.version}, ${rows} rows per pool, ${runs} paired runs each (median), extra flags: ${positionals.join(' ') || '(none)'}\n`);
console.log('pool  | variant       | wall s (min–max)   | rows/s | MB written | peak RSS MB');
console.log('------|---------------|--------------------|--------|------------|------------');

const cli = path.join(root, 'dist/bin/batch-explain.js');
for (const [poolName, images] of Object.entries(pools)) {
  const dataset = path.join(dir, `resize-${poolName}-${rows}.jsonl`);
  await generateDataset({ rows, images, out: dataset });
  const variants = {
    default: [],
    '--resize': ['--resize'],
  };
  const samples = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? Object.keys(variants) : Object.keys(variants).reverse();
    for (const name of order) {
      const out = path.join(dir, `out-resize-${name.replace(/\W/g, '')}`);
      await rm(out, { recursive: true, force: true });
      const m = await measure([cli, 'build', '--dataset', dataset, '--prompt', prompt, '--out-dir', out, '--quiet', ...variants[name], ...positionals]);
      samples[name].push({ ...m, ...(await shardStats(out)) });
      await rm(out, { recursive: true, force: true });
    }
  }
  for (const [name, s] of Object.entries(samples)) {
    const times = s.map((x) => x.seconds);
    const seconds = median(times);
    const spread = `${seconds.toFixed(2)} (${Math.min(...times).toFixed(2)}–${Math.max(...times).toFixed(2)})`;
    const rssMb = Math.max(...s.map((x) => x.rssMb));
    console.log(`${poolName.padEnd(5)} | ${name.padEnd(13)} | ${spread.padEnd(18)} | ${(rows / seconds).toFixed(0).padStart(6)} | ${(s[0].bytes / 1e6).toFixed(1).padStart(10)} | ${rssMb.toFixed(1).padStart(11)}`);
  }
}
