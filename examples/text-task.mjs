// A different task from the same stages: text-only rows (no image), a prompt written as a function,
// and the library's shard writer. Here: explain the sentiment label of tweets.
//   node examples/text-task.mjs [tweets.jsonl] [out-dir]
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { applyPrompt, byteBudgetBatcher, composeStages, readJsonl, rejectsSink, toRequestLine } from 'batch-explain';

const dataset = process.argv[2] ?? path.join(import.meta.dirname, '../fixtures/tweets.jsonl');
const outDir = process.argv[3] ?? 'example-text-batches';

const rejects = rejectsSink({ path: path.join(outDir, 'rejects.jsonl') });
const { onReject } = rejects;

// The dataset has its own field names: map them to the row shape the stages share ({line, id,
// label, text}), and send rows that cannot become a request to the rejects file, as the built-in
// validateRow does for meme datasets. A row without `image` becomes a text-only request.
async function* tweetRows(records) {
  for await (const { line, value } of records) {
    const missing = ['tweet_id', 'tweet', 'sentiment'].find((f) => typeof value?.[f] !== 'string' || value[f] === '');
    if (missing) {
      await onReject({ file: dataset, line, id: value?.tweet_id, stage: 'tweetRows', code: 'E_MISSING_FIELD', message: `field "${missing}" is missing or not a non-empty string` });
      continue;
    }
    yield { line, id: value.tweet_id, label: value.sentiment, text: value.tweet, lang: value.lang };
  }
}

// A prompt function instead of a template: any logic per row (here, the answer's language).
const render = (row) =>
  `A human annotator labelled the sentiment of this tweet as "${row.label}". Without questioning the label, ` +
  `explain in about 50 words${row.lang === 'ar' ? ', in Arabic,' : ''} what in the tweet supports it. ` +
  `Answer as JSON {"explanation": "..."}.\nTweet: ${row.text}`;

await pipeline(
  readJsonl({ path: dataset, onReject }),
  composeStages(
    tweetRows,
    applyPrompt({ render }),
    toRequestLine({ model: 'gpt-4o-mini', provider: 'openai', maxTokens: 300, responseFormat: 'json_object' }),
  ),
  byteBudgetBatcher({ onReject, outDir, prefix: 'tweets_' }),
  async (shards) => {
    for await (const shard of shards) console.log(`${shard.path}: ${shard.rows} requests, ${shard.bytes} bytes`);
  },
);
await rejects.close();
console.log(`rejected: ${rejects.counts.total}`);
