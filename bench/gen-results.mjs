// Generates batch output lines answering the rows of bench/gen-dataset.mjs, in a shuffled order
// (a fixed permutation: no list of ids is held), each with an explanation of ~700 bytes.
//   node bench/gen-results.mjs --rows N --out FILE
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { datasetId } from './gen-dataset.mjs';

const WORDS = 'The meme pairs a national flag with the slogan to stir pride and loyalty while ridiculing critics as traitors; the exaggerated caption and laughing emoji turn a political claim into a joke that is easy to share, which is a classic propaganda technique of emotional appeal and name calling. الصورة تستخدم العلم والشعار لإثارة مشاعر الانتماء'.split(' ');

function gcd(a, b) {
  while (b) [a, b] = [b, a % b];
  return a;
}

export async function generateResults({ rows, out, seed = 11 }) {
  // i -> (a*i + c) mod rows is a permutation when a and rows are coprime.
  let a = Math.floor(rows * 0.6180339887) | 1;
  while (gcd(a, rows) !== 1) a += 2;
  const c = seed % rows;
  const stream = createWriteStream(out);
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < rows; i++) {
    const row = (a * i + c) % rows;
    let text = '';
    while (text.length < 560) text += `${WORDS[Math.floor(rand() * WORDS.length)]} `;
    const content = JSON.stringify({ explanation: text.trim() });
    const line = JSON.stringify({
      // Real batch_req ids are random: a line sort must really sort.
      id: `batch_req_${((Math.imul(i + 1, 2654435761) >>> 0).toString(16) + (Math.imul(i + 7, 40503) >>> 0).toString(16)).padStart(24, '0')}`,
      custom_id: datasetId(row),
      response: {
        status_code: 200,
        request_id: `req_${i}`,
        body: { id: `chatcmpl-${i}`, object: 'chat.completion', created: 1732500000, model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content }, logprobs: null, finish_reason: 'stop' }], usage: { prompt_tokens: 1200, completion_tokens: 150, total_tokens: 1350 } },
      },
      error: null,
    });
    if (!stream.write(`${line}\n`)) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { rows: { type: 'string' }, out: { type: 'string' } } });
  await generateResults({ rows: Number(values.rows), out: values.out });
}
