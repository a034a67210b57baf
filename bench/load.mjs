// Benchmark: the local server under concurrent load. One `serve` process (spawned, so its peak RSS
// is its own), N clients at once (the official openai client, loopback only), each uploading a
// small batch file, creating a batch, polling it until it is finished and downloading its output,
// which it checks line by line. Bounded: N clients, one batch each, and a deadline.
// Prints requests, failures (other than injected ones), latency percentiles by call, batches
// completed and the server's peak RSS (VmHWM from /proc/<pid>/status, read before it stops).
//   node bench/load.mjs [--clients 200] [--lines 5] [--poll-ms 250] [--deadline-s 300] [--fault-429 0] [--json]
// Exit code 1 when a request failed (not injected), a batch did not complete or an output was wrong.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import OpenAI, { toFile } from 'openai';

const here = import.meta.dirname;
const cli = path.join(here, '../dist/bin/batch-explain.js');
const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '200' },
    lines: { type: 'string', default: '5' },
    'poll-ms': { type: 'string', default: '250' },
    'deadline-s': { type: 'string', default: '300' },
    'fault-429': { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
  },
});
const clients = Number(values.clients);
const linesPerBatch = Number(values.lines);
const pollMs = Number(values['poll-ms']);
const deadline = Date.now() + Number(values['deadline-s']) * 1000;
const log = values.json ? () => {} : (s) => console.log(s);

const dataDir = await mkdtemp(path.join(tmpdir(), 'batch-explain-load-'));
const server = spawn(cli, ['serve', '--port', '0', '--data-dir', dataDir, '--quiet', '--fault-429', values['fault-429'], '--fault-retry-after', '0', '--fault-seed', '7'], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
let serverLog = '';
server.stderr.on('data', (c) => (serverLog += c));
const url = await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
  server.stdout.once('data', (c) => resolve(String(c).split('\n')[0]));
});

/** Every HTTP exchange: the call it belongs to, its status (0 for a network failure) and its time. */
const exchanges = [];
const started = Date.now();

/** The official client, with a fetch that times and records each exchange (the client's own retries go through it too). */
function client() {
  const timed = async (input, init) => {
    const t0 = performance.now();
    const method = init?.method ?? 'GET';
    // The client probes `fetch` with a data: URL once; only HTTP exchanges are counted.
    if (!String(input).startsWith('http')) return fetch(input, init);
    const route = new URL(String(input)).pathname.replace(/(file|batch)[-_][0-9a-f]+/g, ':id');
    try {
      const res = await fetch(input, init);
      exchanges.push({ call: `${method} ${route}`, status: res.status, ms: performance.now() - t0 });
      return res;
    } catch (err) {
      exchanges.push({ call: `${method} ${route}`, status: 0, ms: performance.now() - t0, error: [err.message, err.cause?.code, err.cause?.message].filter(Boolean).join(': ') });
      throw err;
    }
  };
  // maxRetries 4: injected 429s are retried by the client, as users' code would.
  return new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sk-load', maxRetries: 4, timeout: 120_000, fetch: timed });
}

function requestLine(client, i) {
  return JSON.stringify({
    custom_id: `c${client}-r${i}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'text', text: `A human expert labelled this meme as: propaganda\nText extracted: load ${client}/${i}` }] }], max_tokens: 50 },
  });
}

/** One client's job: upload, create, poll until finished, download and check. */
async function oneClient(n) {
  const openai = client();
  const body = Array.from({ length: linesPerBatch }, (_, i) => requestLine(n, i)).join('\n') + '\n';
  const file = await openai.files.create({ file: await toFile(Buffer.from(body), `load-${n}.jsonl`), purpose: 'batch' });
  let batch = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  while (!['completed', 'failed', 'expired', 'cancelled'].includes(batch.status)) {
    if (Date.now() > deadline) throw new Error(`client ${n}: batch ${batch.id} still ${batch.status} at the deadline`);
    await new Promise((r) => setTimeout(r, pollMs * (0.5 + Math.random())));
    batch = await openai.batches.retrieve(batch.id);
  }
  if (batch.status !== 'completed') throw new Error(`client ${n}: batch ${batch.status}`);
  const text = await (await openai.files.content(batch.output_file_id)).text();
  const ids = text.trim().split('\n').map((l) => JSON.parse(l).custom_id).sort();
  const expected = Array.from({ length: linesPerBatch }, (_, i) => `c${n}-r${i}`).sort();
  if (JSON.stringify(ids) !== JSON.stringify(expected)) throw new Error(`client ${n}: output has ${ids.length} lines, not the ${linesPerBatch} expected`);
}

/** The server's peak RSS so far (VmHWM only grows); sampled every 500 ms, so a server that dies still has a figure. */
let peakKb = 0;
async function samplePeak() {
  const status = await readFile(`/proc/${server.pid}/status`, 'utf8').catch(() => '');
  peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0));
}
const sampler = setInterval(samplePeak, 500);
let serverExit = null;
server.once('exit', (code, signal) => (serverExit = code ?? signal));

log(`load: ${clients} clients, ${linesPerBatch} lines a batch, against ${url} (serve pid ${server.pid})`);
const outcomes = await Promise.allSettled(Array.from({ length: clients }, (_, n) => oneClient(n)));
const wall = (Date.now() - started) / 1000;
clearInterval(sampler);
if (serverExit === null) {
  await samplePeak();
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', (code, signal) => r((serverExit = code ?? signal))));
}
// 143: stopped by SIGTERM, as asked. Anything else (a crash) is printed.
if (serverExit !== 143) console.error(`serve exited ${serverExit}:\n${serverLog}`);
await rm(dataDir, { recursive: true, force: true });

const completed = outcomes.filter((o) => o.status === 'fulfilled').length;
const errors = outcomes.filter((o) => o.status === 'rejected').map((o) => o.reason?.message ?? String(o.reason));
const injected = exchanges.filter((e) => e.status === 429).length;
const failures = exchanges.filter((e) => e.status === 0 || (e.status >= 400 && e.status !== 429));
const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0);
const byCall = {};
for (const e of exchanges) (byCall[e.call] ??= []).push(e.ms);
const latency = Object.fromEntries(
  Object.entries(byCall).map(([call, ms]) => {
    ms.sort((a, b) => a - b);
    return [call, { n: ms.length, p50: +pct(ms, 50).toFixed(1), p90: +pct(ms, 90).toFixed(1), p99: +pct(ms, 99).toFixed(1), max: +ms.at(-1).toFixed(1) }];
  }),
);
const all = exchanges.map((e) => e.ms).sort((a, b) => a - b);
const summary = {
  clients,
  linesPerBatch,
  wallSeconds: +wall.toFixed(1),
  requests: exchanges.length,
  requestsPerSecond: +(exchanges.length / wall).toFixed(0),
  injected429: injected,
  failures: failures.length,
  failureSamples: failures.slice(0, 5),
  batchesCompleted: completed,
  clientErrors: errors.slice(0, 5),
  latencyMs: { all: { p50: +pct(all, 50).toFixed(1), p90: +pct(all, 90).toFixed(1), p99: +pct(all, 99).toFixed(1), max: +(all.at(-1) ?? 0).toFixed(1) }, ...latency },
  serverPeakRssMb: +(peakKb / 1024).toFixed(1),
};
if (values.json) console.log(JSON.stringify(summary));
else {
  log(`requests ${summary.requests} in ${summary.wallSeconds} s (${summary.requestsPerSecond}/s), failures ${summary.failures}, injected 429s ${injected}`);
  log(`batches completed ${completed}/${clients}${errors.length ? `; errors: ${errors.slice(0, 3).join('; ')}` : ''}`);
  log('| call | n | p50 ms | p90 ms | p99 ms | max ms |');
  log('|---|---|---|---|---|---|');
  for (const [call, l] of Object.entries(summary.latencyMs)) log(`| ${call} | ${l.n ?? summary.requests} | ${l.p50} | ${l.p90} | ${l.p99} | ${l.max} |`);
  log(`server peak RSS ${summary.serverPeakRssMb} MB`);
}
if (failures.length > 0 || completed !== clients || serverExit !== 143) process.exitCode = 1;
