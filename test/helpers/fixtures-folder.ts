import { copyFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './server.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** A new folder holding the fixtures' dataset (`memes.jsonl`) and its `images/`, as a user has them. */
export async function withFixtures(prefix: string): Promise<string> {
  const cwd = await tempDir(prefix);
  await mkdir(path.join(cwd, 'images'));
  for (const name of await readdir(path.join(fixtures, 'images'))) await copyFile(path.join(fixtures, 'images', name), path.join(cwd, 'images', name));
  await copyFile(path.join(fixtures, 'memes.jsonl'), path.join(cwd, 'memes.jsonl'));
  return cwd;
}
