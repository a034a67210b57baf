// Shards from a dataset on stdin, e.g. a slice chosen with jq, in small shards:
//   jq -c 'select(.lang == "en")' fixtures/memes.jsonl | node examples/stdin-shards.mjs fixtures out-dir
// Relative img_path values resolve against the first argument (stdin has no folder of its own).
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  applyPrompt,
  byteBudgetBatcher,
  composeStages,
  encodeImage,
  loadPromptFile,
  readJsonl,
  rejectsSink,
  resolveImage,
  toRequestLine,
  validateRow,
} from 'batch-explain';

const imageRoot = process.argv[2] ?? '.';
const outDir = process.argv[3] ?? 'example-stdin-batches';

const rejects = rejectsSink({ path: path.join(outDir, 'rejects.jsonl') });
const { onReject } = rejects;
// A shipped prompt, by name (a path works too).
const { template } = await loadPromptFile('hateful_memes_explanation');
const counts = { rows: 0, shards: 0 };

await pipeline(
  readJsonl({ path: '-', name: 'stdin', onReject }),
  composeStages(
    validateRow({ onReject, file: 'stdin' }),
    resolveImage({ onReject, imageRoot }),
    encodeImage({ onReject }),
    applyPrompt({ template }),
    toRequestLine({ model: 'gpt-4o', provider: 'azure' }),
  ),
  // Two requests a shard, to show the request budget at work on a tiny input.
  byteBudgetBatcher({ onReject, outDir, file: 'stdin', maxRequests: 2 }),
  async (shards) => {
    for await (const shard of shards) {
      counts.rows += shard.rows;
      counts.shards++;
      console.log(`${path.basename(shard.path)}: lines ${shard.first_line}-${shard.last_line}, ${shard.rows} requests`);
    }
  },
);
await rejects.close();
console.log(`${counts.rows} requests in ${counts.shards} shards, ${rejects.counts.total} rejected`);
