// Benchmark: `merge --output x.parquet` (src/core/dataset/parquet-output.ts) beside `--output
// x.jsonl` of the same merge, in one run: wall time and peak RSS, for a Parquet dataset with
// images embedded as {bytes, path} (~2 kB each, row groups of 1000 rows) and a JSON array of
// text rows. Does the Parquet writer keep memory bounded (one row group) as the rows grow?
//   node bench/parquet-output.mjs [--rows 100000] [--dir DIR]
import { createWriteStream } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import { generateImages } from './gen-images.mjs';
import { measure } from './measure.mjs';
import { IMAGE_ROWS_SCHEMA } from './parquet-schema.mjs';

const here = import.meta.dirname;
const cli = path.join(here, '..', 'dist/bin/batch-explain.js');
const { values } = parseArgs({ options: { rows: { type: 'string', default: '100000' }, dir: { type: 'string' } } });
const rows = Number(values.rows);
const dir = values.dir ?? path.join(tmpdir(), 'batch-explain-bench-parquet-output');
const images = path.join(dir, 'images-2kb');
const pool = await generateImages({ dir: images, count: 200, meanKb: 2 });
const bytes = await Promise.all((await readdir(images)).filter((n) => n.endsWith('.jpg')).map((n) => readFile(path.join(images, n))));
const id = (i) => `m${String(i).padStart(8, '0')}`;
const text = (i) => `row ${i}: some meme text that is about as long as the ones in the public datasets, give or take`;

async function lines(file, make) {
  const out = createWriteStream(file);
  for (let i = 0; i < rows; i++) if (!out.write(make(i))) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

const parquet = path.join(dir, `d-${rows}.parquet`);
const json = path.join(dir, `d-${rows}.json`);
const results = path.join(dir, `r-${rows}.jsonl`);
const schema = IMAGE_ROWS_SCHEMA;
const writer = new ParquetWriter({ writer: fileWriter(parquet), schema });
for (let start = 0; start < rows; start += 1000) {
  const n = Math.min(1000, rows - start);
  const at = (f) => Array.from({ length: n }, (_, k) => f(start + k));
  writer.write({
    columnData: [
      { name: 'id', data: at(id) },
      { name: 'text', data: at(text) },
      // Each row's image its own (a pool image with the row's id after its end), as in a real dataset.
      { name: 'image', data: at((i) => ({ bytes: Buffer.concat([bytes[i % bytes.length], Buffer.from(id(i))]), path: `${id(i)}.jpg` })) },
      { name: 'class_label', data: at((i) => (i % 3 ? 'propaganda' : 'not_propaganda')) },
    ],
    rowGroupSize: n,
  });
}
writer.finish();
await lines(json, (i) => `${i === 0 ? '[\n' : ',\n'}  ${JSON.stringify({ id: id(i), text: text(i), img_path: `img/${id(i)}.jpg`, labels: [i % 2, 1, 0] })}${i === rows - 1 ? '\n]\n' : ''}`);
const answer = (i) => JSON.stringify({ explanation: `The meme ${id(i)} is labelled so because its text and image say so, in about a hundred words, as the prompt asks.` });
await lines(results, (i) => `${JSON.stringify({ id: `r${i}`, custom_id: id(i), response: { status_code: 200, body: { choices: [{ index: 0, message: { role: 'assistant', content: answer(i) }, finish_reason: 'stop' }] } }, error: null })}\n`);

console.log(`node ${process.version}; ${rows} rows; images ${pool.files.length} JPEGs of mean ${(pool.meanBytes / 1000).toFixed(1)} kB\n`);
console.log('dataset                  | output  | wall s | peak RSS MB | output MB');
console.log('-------------------------|---------|--------|-------------|----------');
for (const [name, dataset, format] of [['Parquet, images embedded', parquet, 'parquet'], ['JSON array, text', json, 'json']]) {
  for (const ext of ['jsonl', 'parquet']) {
    const output = path.join(dir, `out.${ext}`);
    const m = await measure([cli, 'merge', '--dataset', dataset, '--format', format, '--results', results, '--output', output, '--quiet', '--progress-interval', '0']);
    const size = (await stat(output)).size;
    console.log(`${name.padEnd(24)} | ${ext.padEnd(7)} | ${m.seconds.toFixed(1).padStart(6)} | ${m.rssMb.toFixed(1).padStart(11)} | ${(size / 1e6).toFixed(0).padStart(9)}`);
    await rm(output, { force: true });
    await rm(`${output}.errors.jsonl`, { force: true });
  }
}
