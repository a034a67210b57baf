// Benchmark: `batch-explain build` of the same rows as JSONL, a JSON array, CSV and Parquet (the
// images embedded as {bytes, path} structs, row groups of --row-group rows), in one run: wall
// time, rows/s and peak RSS of each. Small images (~2 kB), so that a million rows fit on disk.
//   node bench/formats.mjs [--rows 1000000] [--row-group 1000] [--dir DIR] [--formats jsonl,json,csv,parquet] [--fresh]
import { createWriteStream } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'csv-stringify/sync';
import { ParquetWriter } from 'hyparquet-writer';
import { fileWriter } from 'hyparquet-writer';
import { generateImages } from './gen-images.mjs';
import { generateDataset } from './gen-dataset.mjs';
import { measure, shardStats } from './measure.mjs';
import { fileLines } from '../dist/src/core/io/file-lines.js';
import { IMAGE_ROWS_SCHEMA } from './parquet-schema.mjs';

const here = import.meta.dirname;
const root = path.join(here, '..');
const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    'row-group': { type: 'string', default: '1000' },
    dir: { type: 'string' },
    formats: { type: 'string', default: 'jsonl,json,csv,parquet' },
    fresh: { type: 'boolean', default: false },
  },
});
const rows = Number(values.rows);
const rowGroup = Number(values['row-group']);
const dir = values.dir ?? path.join(tmpdir(), 'batch-explain-bench-formats');
const prompt = path.join(root, 'prompts/armeme_explanation_arabic.txt');
const images = path.join(dir, 'images-2kb');

const pool = await generateImages({ dir: images, count: 200, meanKb: 2 });
console.log(`image pool: ${pool.files.length} JPEGs, mean ${(pool.meanBytes / 1000).toFixed(1)} kB; node ${process.version}; ${rows} rows; Parquet row groups of ${rowGroup} rows\n`);

async function write(file, make) {
  const out = createWriteStream(file);
  await make(async (text) => {
    if (!out.write(text)) await once(out, 'drain');
  });
  out.end();
  await once(out, 'finish');
}

// The same rows in each format, made from the JSONL.
// Deterministic: files of an earlier run of the same size are used again (--fresh makes them anew).
const jsonl = path.join(dir, `d-${rows}.jsonl`);
const files = { jsonl, json: path.join(dir, `d-${rows}.json`), csv: path.join(dir, `d-${rows}.csv`), parquet: path.join(dir, `d-${rows}.parquet`) };
const have = async (f) => !values.fresh && (await stat(f).then(() => true, () => false));
if (!(await have(jsonl))) await generateDataset({ rows, images, out: jsonl });
if (!(await have(files.json))) await write(files.json, async (put) => {
  let first = true;
  for await (const { text } of fileLines(jsonl)) {
    await put(`${first ? '[\n  ' : ',\n  '}${text}`);
    first = false;
  }
  await put('\n]\n');
});
if (!(await have(files.csv))) await write(files.csv, async (put) => {
  await put('id,text,img_path,class_label\n');
  for await (const { text } of fileLines(jsonl)) {
    const r = JSON.parse(text);
    await put(stringify([[r.id, r.text, r.img_path, r.class_label]]));
  }
});
if (!(await have(files.parquet))) {
  const bytes = new Map();
  for (const name of (await readdir(images)).filter((n) => n.endsWith('.jpg'))) bytes.set(path.join(images, name), await readFile(path.join(images, name)));
  const schema = IMAGE_ROWS_SCHEMA;
  const writer = new ParquetWriter({ writer: fileWriter(files.parquet), schema });
  let group = [];
  const flush = () => {
    writer.write({
      columnData: [
        { name: 'id', data: group.map((r) => r.id) },
        { name: 'text', data: group.map((r) => r.text) },
        { name: 'image', data: group.map((r) => ({ bytes: bytes.get(r.img_path), path: path.basename(r.img_path) })) },
        { name: 'class_label', data: group.map((r) => r.class_label) },
      ],
      rowGroupSize: rowGroup,
      // No dictionary: every row's image is its own, as in a real dataset (the pool repeats them).
      dictionarySize: 1,
    });
    group = [];
  };
  for await (const { text } of fileLines(jsonl)) {
    group.push(JSON.parse(text));
    if (group.length === rowGroup) flush();
  }
  if (group.length) flush();
  writer.finish();
}

console.log('format  | dataset MB | wall s | rows/s | peak RSS MB | requests MB | shards');
console.log('--------|------------|--------|--------|-------------|-------------|-------');
for (const format of values.formats.split(',')) {
  const out = path.join(dir, `out-${format}`);
  await rm(out, { recursive: true, force: true });
  const extra = format === 'parquet' ? ['--image-field', 'image'] : [];
  const m = await measure([path.join(root, 'dist/bin/batch-explain.js'), 'build', '--dataset', files[format], '--prompt', prompt, '--out-dir', out, '--quiet', ...extra]);
  const { bytes, shards } = await shardStats(out);
  const size = (await stat(files[format])).size;
  console.log(
    `${format.padEnd(7)} | ${(size / 1e6).toFixed(0).padStart(10)} | ${m.seconds.toFixed(1).padStart(6)} | ${(rows / m.seconds).toFixed(0).padStart(6)} | ${m.rssMb.toFixed(1).padStart(11)} | ${(bytes / 1e6).toFixed(0).padStart(11)} | ${String(shards).padStart(6)}`,
  );
  await rm(out, { recursive: true, force: true });
}
