import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of this package (holding `prompts/`), whether running from `src/` or `dist/src/`. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (true) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'batch-explain') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('batch-explain: cannot find its own package.json');
    dir = parent;
  }
}
