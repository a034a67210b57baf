// Preloaded with NODE_OPTIONS=--import=./bench/report-rss.mjs: writes the process's peak RSS (kB)
// to $BENCH_RSS_FILE at exit, so benchmarks measure the real CLI process, start-up included.
// On Linux it reads VmHWM, the peak of this process image: getrusage's maxrss also carries the
// peak of the parent that forked it (kept across exec), which would blur small figures.
import { readFileSync, writeFileSync } from 'node:fs';

function peakKb() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {}
  return process.resourceUsage().maxRSS;
}

process.on('exit', () => {
  if (process.env.BENCH_RSS_FILE) writeFileSync(process.env.BENCH_RSS_FILE, String(peakKb()));
});
