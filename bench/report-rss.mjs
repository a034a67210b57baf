// Preloaded with NODE_OPTIONS=--import=./bench/report-rss.mjs: writes the process's peak RSS (kB)
// to $BENCH_RSS_FILE at exit, so benchmarks measure the real CLI process, start-up included.
// On Linux it reads VmHWM, the peak of this process image: getrusage's maxrss also carries the
// peak of the parent that forked it (kept across exec), which would blur small figures.
// With $BENCH_TRACE_FILE, it also appends a line every $BENCH_TRACE_MS (default 1000) ms: seconds,
// RSS, peak RSS, threads, then process.memoryUsage()'s heap total/used, external, arrayBuffers and
// V8's new and old spaces, in MB (tab-separated).
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import { isMainThread } from 'node:worker_threads';

function status() {
  try {
    return readFileSync('/proc/self/status', 'utf8');
  } catch {
    return '';
  }
}

function peakKb() {
  const m = /VmHWM:\s+(\d+) kB/.exec(status());
  return m ? Number(m[1]) : process.resourceUsage().maxRSS;
}

// Worker threads load it too (NODE_OPTIONS): only the main thread reports.
process.on('exit', () => {
  if (isMainThread && process.env.BENCH_RSS_FILE) writeFileSync(process.env.BENCH_RSS_FILE, String(peakKb()));
});

const trace = process.env.BENCH_TRACE_FILE;
if (trace && isMainThread) {
  const start = Date.now();
  const mb = (bytes) => (bytes / 1048576).toFixed(1);
  appendFileSync(trace, 's\trss\tpeak\tthreads\theapTotal\theapUsed\texternal\tarrayBuffers\tnew\told\n');
  setInterval(() => {
    const s = status();
    const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
    const m = process.memoryUsage();
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((x) => [x.space_name, x.space_size]));
    const row = [((Date.now() - start) / 1000).toFixed(1), mb(kb('VmRSS') * 1024), mb(kb('VmHWM') * 1024), kb('Threads'), mb(m.heapTotal), mb(m.heapUsed), mb(m.external), mb(m.arrayBuffers), mb(spaces.new_space ?? 0), mb(spaces.old_space ?? 0)];
    appendFileSync(trace, `${row.join('\t')}\n`);
  }, Number(process.env.BENCH_TRACE_MS ?? 1000)).unref();
}
