// Writes docs/cli.md from the built CLI's yargs definitions: npm run docs
import { mkdir, writeFile } from 'node:fs/promises';
import { cliReference } from '../dist/bin/cli-reference.js';

const target = new URL('../docs/cli.md', import.meta.url);
await mkdir(new URL('.', target), { recursive: true });
await writeFile(target, await cliReference());
console.log(`wrote ${target.pathname}`);
