import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of this package (holding `prompts/`), whether running from `src/` or `dist/src/`, or bundled in `dist/bin/`. */
export function packageRoot(): string {
  // Found once: every worker pool, the tokenizer's ranks and --version ask for it.
  return (root ??= findPackageRoot());
}

let root: string | undefined;

function findPackageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (true) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'batch-explain') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('batch-explain: cannot find its own package.json');
    dir = parent;
  }
}

/** This package's version, from its own package.json (not the one nearest the working folder). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
