import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { forgetEncodings, loadEncoding, readCachedRanks, readRanks, saveRanksCache, type TextEncoding } from '../../../src/core/requests/tokenizer.js';
import { tempDir } from '../../helpers/server.js';

/** Where `npm run build` saves the ranks: beside the compiled tokenizer module. */
const built = (name: TextEncoding) => fileURLToPath(new URL(`../../../dist/src/core/requests/${name}.ranks.v8`, import.meta.url));

/** The index of the first rank that differs (holes included), or -1: a plain loop over 200,000 ranks. */
function firstDifference(a: Array<string | number[]>, b: Array<string | number[]>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (i in a !== i in b) return i;
    if (typeof x === 'string' || typeof y === 'string' ? x !== y : x!.length !== y!.length || x!.some((v, j) => v !== y![j])) return i;
  }
  return -1;
}

describe('the saved tokenizer ranks', () => {
  for (const name of ['o200k_base', 'cl100k_base'] as const) {
    it(`${name}: npm run build saved the very ranks the .tiktoken file gives (so the same token counts)`, () => {
      const parsed = readRanks(name);
      expect(parsed.length).toBeGreaterThan(100_000);
      expect(parsed.some((r) => typeof r !== 'string')).toBe(true); // byte tokens that are not whole UTF-8
      const cached = readCachedRanks(name, built(name));
      expect(cached).toBeDefined();
      expect(firstDifference(parsed, cached!)).toBe(-1);
    });
  }

  it('a cache of another gpt-tokenizer version, of another encoding, unreadable or missing is not used', async () => {
    const dir = await tempDir('be-ranks-');
    const saved = path.join(dir, 'o200k.v8');
    saveRanksCache('o200k_base', saved);
    expect(readCachedRanks('o200k_base', saved)).toBeDefined();
    expect(readCachedRanks('cl100k_base', saved)).toBeUndefined();
    const other = path.join(dir, 'other.v8');
    await writeFile(other, serialize({ gptTokenizer: '0.0.1', name: 'o200k_base', ranks: ['a', 'b'] }));
    expect(readCachedRanks('o200k_base', other)).toBeUndefined();
    const garbage = path.join(dir, 'garbage.v8');
    await writeFile(garbage, 'not V8 serialization');
    expect(readCachedRanks('o200k_base', garbage)).toBeUndefined();
    expect(readCachedRanks('o200k_base', path.join(dir, 'missing.v8'))).toBeUndefined();
  });
});

describe('tokenizers: one per encoding and process, until forgotten', () => {
  it('gives the same tokenizer again; after forgetEncodings, a new one that counts the same', async () => {
    const first = await loadEncoding('o200k_base');
    expect(await loadEncoding('o200k_base')).toBe(first);
    const count = first.countTokens('hello world, مرحبا بالعالم');
    forgetEncodings();
    const second = await loadEncoding('o200k_base');
    expect(second).not.toBe(first);
    expect(second.countTokens('hello world, مرحبا بالعالم')).toBe(count);
  });
});
