const enc = process.argv[2];
global.gc(); const r0 = process.memoryUsage();
const t0 = performance.now();
const m = await import(`gpt-tokenizer/encoding/${enc}`);
m.countTokens('hello world');
const t1 = performance.now();
global.gc(); const r1 = process.memoryUsage();
console.log(enc, 'load ms', (t1-t0).toFixed(0), 'rss +MB', ((r1.rss-r0.rss)/1e6).toFixed(1), 'heap +MB', ((r1.heapUsed-r0.heapUsed)/1e6).toFixed(1), 'ext', ((r1.external-r0.external)/1e6).toFixed(1), 'rss', (r1.rss/1e6).toFixed(0));
console.log(Object.keys(m).join(' '));
