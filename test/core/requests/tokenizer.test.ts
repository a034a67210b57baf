import { describe, expect, it } from 'vitest';
import { forgetEncodings, loadEncoding } from '../../../src/core/requests/tokenizer.js';

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
