// Preloaded with `node --import ./bench/report-rss.mjs ...`: writes the process's peak RSS (kB)
// to $BENCH_RSS_FILE at exit, so benchmarks measure the real CLI process, start-up included.
import { writeFileSync } from 'node:fs';

process.on('exit', () => {
  if (process.env.BENCH_RSS_FILE) writeFileSync(process.env.BENCH_RSS_FILE, String(process.resourceUsage().maxRSS));
});
