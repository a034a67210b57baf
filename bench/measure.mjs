// Shared by the build benchmarks: run a program as its own process and read its peak RSS, medians, shard sizes.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const here = import.meta.dirname;

/**
 * Runs a Node program (the CLI through its own shebang, as users run it), returning wall seconds
 * and the peak RSS (MB) its process reported at exit.
 */
export async function measure([command, ...args]) {
  const rssFile = path.join(await mkdtemp(path.join(tmpdir(), 'rss-')), 'rss');
  const start = process.hrtime.bigint();
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_RSS_FILE: rssFile, NODE_OPTIONS: `--import=${path.join(here, 'report-rss.mjs')}` },
  });
  let stdout = '';
  child.stdout.on('data', (c) => (stdout += c));
  const code = await new Promise((resolve) => child.on('close', resolve));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}`);
  const rssMb = Number(await readFile(rssFile, 'utf8')) / 1024;
  await rm(path.dirname(rssFile), { recursive: true, force: true });
  return { seconds, rssMb, stdout };
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Bytes and count of the shard files in `out`. */
export async function shardStats(out) {
  const names = (await readdir(out)).filter((n) => /^batch_\d+\.jsonl$/.test(n));
  let bytes = 0;
  for (const n of names) bytes += (await stat(path.join(out, n))).size;
  return { bytes, shards: names.length };
}
