// `npm run bench`: every benchmark, one after the other. Each prints its own table; results and
// the commands that produced them are kept in bench/RESULTS.md. Not a test: nothing here fails.
//   npm run bench [-- --quick]      --quick: fewer rows and runs, to check the benchmarks work
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const quick = process.argv.includes('--quick');
const here = import.meta.dirname;
const benches = [
  ['build.mjs', ...(quick ? ['--rows', '500', '--runs', '1'] : ['--rows', '2000,20000', '--runs', '5'])],
  ['resize.mjs', ...(quick ? ['--rows', '200', '--runs', '1'] : ['--rows', '1000', '--runs', '3'])],
  ['roundtrip.mjs', ...(quick ? ['--output-lines', '5000'] : ['--output-lines', '180000'])],
  ['merge.mjs', ...(quick ? ['--rows', '20000'] : ['--rows', '1000000', '--runs', '2'])],
  ['run-job.mjs', ...(quick ? ['--rows', '2000'] : ['--rows', '1000000'])],
  ['load.mjs', ...(quick ? ['--clients', '50'] : ['--clients', '200'])],
  ['direct.mjs', ...(quick ? ['--rows', '200', '--ids', '20000'] : ['--rows', '2000,10000', '--ids', '1000000'])],
  ['report.mjs', ...(quick ? ['--rows', '20000'] : ['--rows', '1000000', '--runs', '2'])],
  ['formats.mjs', ...(quick ? ['--rows', '2000'] : ['--rows', '1000000'])],
  ['parquet-output.mjs', ...(quick ? ['--rows', '2000'] : ['--rows', '100000'])],
  ['view.mjs', ...(quick ? ['--rows', '20000'] : ['--rows', '1000000'])],
  ['cli-start.mjs', ...(quick ? ['--runs', '1'] : ['--runs', '8'])],
];

console.log(`batch-explain benchmarks, node ${process.version}, ${new Date().toISOString()}\n`);
for (const [file, ...args] of benches) {
  console.log(`## ${file} ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [path.join(here, file), ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
  console.log('');
}
