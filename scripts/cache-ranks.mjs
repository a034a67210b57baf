// Part of `npm run build`: saves the tokenizers' ranks beside the compiled tokenizer module,
// where every command that counts tokens reads them back faster than it parses gpt-tokenizer's
// `.tiktoken` files (src/core/requests/tokenizer.ts). A cache already there and readable is kept.
import { readCachedRanks, saveRanksCache } from '../dist/src/core/requests/tokenizer.js';

for (const name of ['o200k_base', 'cl100k_base']) if (!readCachedRanks(name)) saveRanksCache(name);
