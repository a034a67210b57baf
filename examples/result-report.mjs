// A custom reverse pipeline from the library's stages: result files in, a tally of outcomes and
// the usage they cost out, in constant memory, without merging into any dataset.
//   node examples/result-report.mjs results-folder-or-file...
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { readResults } from 'batch-explain';

async function* sources(paths) {
  let order = 0;
  for (const p of paths) {
    const files = (await stat(p)).isDirectory() ? (await readdir(p)).filter((f) => f.endsWith('.jsonl')).sort().map((f) => path.join(p, f)) : [p];
    for (const file of files) yield { path: file, order: order++ };
  }
}

const byOutcome = new Map();
let tokens = 0;
let bad = 0;
const results = readResults({ onBadLine: () => void bad++ })(sources(process.argv.slice(2)));
for await (const r of results) {
  const outcome = r.explanation !== null ? 'explained' : r.error.reason;
  byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
  tokens += r.usage?.total_tokens ?? 0;
}
for (const [outcome, n] of [...byOutcome].sort((a, b) => b[1] - a[1])) console.log(`${outcome}: ${n}`);
console.log(`tokens: ${tokens}`);
console.log(`not result lines: ${bad}`);
