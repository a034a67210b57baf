// A custom build pipeline from the library's stages: docs/library.md's example, runnable.
//   node examples/build-shards.mjs [dataset.jsonl] [out-dir]
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  applyPrompt,
  byteBudgetBatcher,
  composeStages,
  encodeImage,
  readJsonl,
  rejectsSink,
  resolveImage,
  toRequestLine,
  validateRow,
} from 'batch-explain';

const dataset = process.argv[2] ?? path.join(import.meta.dirname, '../fixtures/memes.jsonl');
const outDir = process.argv[3] ?? 'example-batches';

const rejects = rejectsSink({ path: path.join(outDir, 'rejects.jsonl') });
const { onReject } = rejects;
await pipeline(
  readJsonl({ path: dataset, onReject }),
  composeStages(
    validateRow({ onReject }),
    resolveImage({ onReject, imageRoot: path.dirname(dataset) }),
    encodeImage({ onReject }),
    applyPrompt({ template: 'A human labelled this meme {}. Explain why, as JSON {"explanation": "..."}.' }),
    toRequestLine({ model: 'gpt-4o', provider: 'openai', responseFormat: 'json_object' }),
  ),
  byteBudgetBatcher({ onReject, outDir }),
  async (shards) => {
    for await (const shard of shards) console.log(`${shard.path}: ${shard.rows} requests, ${shard.bytes} bytes, sha256 ${shard.sha256}`);
  },
);
await rejects.close();
console.log(`rejected: ${rejects.counts.total}`);
