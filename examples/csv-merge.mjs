// Explanations merged into a dataset kept as CSV: CSV → JSONL (the form merge reads), the library's
// merge, then JSONL → CSV with one more column. Every stage streams; the CSV may be any size.
//   node examples/csv-merge.mjs dataset.csv results-folder merged.csv
// Needs csv-parse and csv-stringify (npm i csv-parse csv-stringify).
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify';
import { merge, readJsonl } from 'batch-explain';

const [csvPath, resultsDir, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error('usage: node examples/csv-merge.mjs dataset.csv results-folder merged.csv');
  process.exit(2);
}
const field = 'generated_explanation';
const work = await mkdtemp(path.join(tmpdir(), 'csv-merge-'));
try {
  // 1. CSV → JSONL, keeping the columns (and their order) to write them back.
  const jsonlPath = path.join(work, 'dataset.jsonl');
  let columns;
  await pipeline(
    createReadStream(csvPath),
    parse({ columns: (header) => (columns = header), bom: true }),
    async function* (records) {
      for await (const record of records) yield `${JSON.stringify(record)}\n`;
    },
    createWriteStream(jsonlPath),
  );

  // 2. The merge: every row once, in order, with the explanation or null; why in the errors file.
  const mergedPath = path.join(work, 'merged.jsonl');
  const summary = await merge({ dataset: jsonlPath, results: [resultsDir], output: mergedPath, errorsPath: `${outPath}.errors.jsonl`, field, tmpDir: work });

  // 3. JSONL → CSV with the new column (an empty cell where there is no explanation).
  const onReject = (r) => {
    throw new Error(`merged line ${r.line}: ${r.message}`);
  };
  await pipeline(
    readJsonl({ path: mergedPath, onReject }),
    async function* (records) {
      for await (const { value } of records) yield value;
    },
    stringify({ header: true, columns: [...columns.filter((c) => c !== field), field], cast: { object: JSON.stringify } }),
    createWriteStream(outPath),
  );
  const reasons = Object.entries(summary.byReason).sort().map(([r, n]) => `${r} ${n}`).join(', ');
  console.log(`${summary.rows} rows, ${summary.explained} explained${reasons ? `, without: ${reasons}` : ''} → ${outPath}`);
} finally {
  await rm(work, { recursive: true, force: true });
}
