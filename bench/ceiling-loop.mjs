// The ceiling for `build`: the least work that produces the same shards. For each row it reads
// the image (readFileSync), base64-encodes it in slices of 48,000 bytes into a reused buffer and
// writes the line around the base64 text as-is (no JSON.stringify of the image, no big string),
// rotating files at --max-bytes. No validation, no rejects, no fsync, no hash: a baseline, not a tool.
//   node bench/ceiling-loop.mjs --dataset FILE --out DIR --prompt FILE [--max-bytes 180000000]
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { createReadStream } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { dataset: { type: 'string' }, out: { type: 'string' }, prompt: { type: 'string' }, 'max-bytes': { type: 'string', default: '180000000' } } });
const maxBytes = Number(values['max-bytes']);
const template = readFileSync(values.prompt, 'utf8').trim();
const root = path.dirname(path.resolve(values.dataset));
mkdirSync(values.out, { recursive: true });

const SLICE = 48_000;
const buf = Buffer.allocUnsafe(1 << 20);
let used = 0;
let fd = -1;
let shard = 0;
let shardBytes = 0;
let rows = 0;
let total = 0;
const flush = () => {
  if (used > 0) writeSync(fd, buf, 0, used);
  used = 0;
};
const put = (s) => {
  if (Buffer.byteLength(s) > buf.length - used) flush();
  used += buf.write(s, used, 'utf8');
};
const open = () => {
  if (fd !== -1) {
    flush();
    closeSync(fd);
  }
  fd = openSync(path.join(values.out, `batch_${String(++shard).padStart(5, '0')}.jsonl`), 'w');
  shardBytes = 0;
};

for await (const line of readline.createInterface({ input: createReadStream(values.dataset), crlfDelay: Infinity })) {
  if (!line) continue;
  const row = JSON.parse(line);
  const image = readFileSync(path.resolve(root, row.img_path));
  const prompt = template.split('{}').join(row.class_label) + '\nText extracted: ' + (row.text ?? '');
  const head = `{"custom_id":${JSON.stringify(String(row.id))},"method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,`;
  const tail = `"}},{"type":"text","text":${JSON.stringify(prompt)}}]}],"max_tokens":4096,"temperature":0}}\n`;
  const bytes = Buffer.byteLength(head) + Math.ceil(image.length / 3) * 4 + Buffer.byteLength(tail);
  if (fd === -1 || shardBytes + bytes > maxBytes) open();
  put(head);
  for (let i = 0; i < image.length; i += SLICE) {
    if (buf.length - used < (SLICE / 3) * 4) flush();
    used += buf.write(image.toString('base64', i, Math.min(i + SLICE, image.length)), used, 'latin1');
  }
  put(tail);
  shardBytes += bytes;
  total += bytes;
  rows++;
}
flush();
closeSync(fd);
process.stdout.write(`${JSON.stringify({ rows, bytes: total, shards: shard })}\n`);
