import { readFileSync } from 'node:fs';
global.gc(); const r0 = process.memoryUsage();
const t0 = performance.now();
const { GptEncoding } = await import('gpt-tokenizer/GptEncoding');
const text = readFileSync('node_modules/gpt-tokenizer/data/o200k_base.tiktoken', 'latin1');
const dec = new TextDecoder('utf-8', { fatal: true });
const ranks = [];
for (const line of text.split('\n')) {
  if (!line) continue;
  const sp = line.indexOf(' ');
  const bytes = Buffer.from(line.slice(0, sp), 'base64');
  const rank = Number(line.slice(sp + 1));
  let v;
  try { v = dec.decode(bytes); if (Buffer.byteLength(v) !== bytes.length) throw 0; } catch { v = [...bytes]; }
  ranks[rank] = v;
}
const enc = GptEncoding.getEncodingApi('o200k_base', () => ranks);

const t1 = performance.now();
global.gc(); global.gc(); const r1 = process.memoryUsage();
console.log('load ms', (t1-t0).toFixed(0), 'rss +MB', ((r1.rss-r0.rss)/1e6).toFixed(1), 'heap +MB', ((r1.heapUsed-r0.heapUsed)/1e6).toFixed(1), 'rss', (r1.rss/1e6).toFixed(0));
