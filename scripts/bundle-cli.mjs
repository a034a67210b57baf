// Part of `npm run build`: the CLI as one bundle (dist/bin/batch-explain.js, its lazily loaded
// parts in dist/bin/chunks/), made from the TypeScript sources with rolldown, over tsc's copy of
// that one file. Every command started as a process used to load some 300 modules one by one
// (yargs, the openai client and ours): ~0.25 s of CPU before its work, on each of a test
// suite's ~290 CLI runs (bench/RESULTS.md, "the CLI bundled"). The library (dist/src) and the
// worker threads stay tsc's modules; the CLI finds them from the package's root.
import { rm } from 'node:fs/promises';
import { rolldown } from 'rolldown';

await rm('dist/bin/chunks', { recursive: true, force: true });
const bundle = await rolldown({
  input: 'bin/batch-explain.ts',
  platform: 'node',
  // Imports are written `./x.js` for `./x.ts`, as Node's TypeScript resolution reads them.
  resolve: { extensionAlias: { '.js': ['.ts', '.js'] } },
  logLevel: 'warn',
});
try {
  await bundle.write({ dir: 'dist/bin', format: 'esm', sourcemap: true, entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' });
} finally {
  await bundle.close();
}
