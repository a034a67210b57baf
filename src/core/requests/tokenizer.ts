import { closeSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { packageRoot } from '../io/package-root.js';

/**
 * The BPE tokenizers of OpenAI's models (gpt-tokenizer), built from the package's own
 * `.tiktoken` rank files rather than its JavaScript rank modules: read in 64 KiB pieces, the
 * ranks cost ~16 MB of heap for o200k_base and leave little garbage, where importing the module
 * keeps ~22 MB live plus its 2.4 MB source and ~35 MB of RSS its parsing leaves behind (measured
 * on Node 20). That RSS stays for the whole build.
 */

export type TextEncoding = 'o200k_base' | 'cl100k_base';

/**
 * Merge results remembered per tokenizer. Without them a 25-word Arabic text takes ~96 µs to
 * count, with 1,000 ~29 µs, with the library's default 100,000 ~13 µs but up to tens of MB for
 * a large vocabulary. 10,000 keeps most of the speed in a few MB.
 */
const MERGE_CACHE_ENTRIES = 10_000;

interface Encoding {
  countTokens(text: string, options?: { disallowedSpecial?: Set<string> }): number;
  setMergeCacheSize(size: number): void;
}

/** One tokenizer per encoding and process, built on first use (o200k_base: ~0.2 s of CPU with the saved ranks, ~0.35 s without). */
const loaded = new Map<TextEncoding, Promise<Encoding>>();

export function loadEncoding(name: TextEncoding): Promise<Encoding> {
  let encoding = loaded.get(name);
  if (!encoding) {
    encoding = build(name);
    loaded.set(name, encoding);
  }
  return encoding;
}

/**
 * Forgets the tokenizers built so far: the next use builds its own again (~0.2 s). A job that
 * is done building (`run` before it waits and merges) lets their ~16 MB of ranks be collected.
 */
export function forgetEncodings(): void {
  loaded.clear();
}

/**
 * V8 lets the old generation grow to a multiple (up to 4×) of what is live before collecting it.
 * The ranks add ~16 MB of long-lived heap, so a build's promoted garbage was let grow by ~50 MB
 * more: peak RSS 176–184 MB against 110–122 MB without a tokenizer (20,000 rows, bench data).
 * Growing by at most 20% (`--heap-growing-percent=20`) brings it back to 124–129 MB, for more
 * frequent (small) collections (bench/RESULTS.md). The CLI starts Node with that flag; a library
 * leaves the process's V8 flags to its owner (pass the flag to get the same bound).
 */
async function build(name: TextEncoding): Promise<Encoding> {
  const { GptEncoding } = await import('gpt-tokenizer/GptEncoding');
  const ranks = readCachedRanks(name) ?? readRanks(name);
  const encoding = GptEncoding.getEncodingApi(name, () => ranks) as Encoding;
  encoding.setMergeCacheSize(MERGE_CACHE_ENTRIES);
  return encoding;
}

const require = createRequire(import.meta.url);

/**
 * The ranks of `name` as `readRanks` gives them, saved next to this module by `npm run build`
 * (scripts/cache-ranks.mjs) in V8's serialization: read back in ~30 ms of CPU where parsing the
 * `.tiktoken` takes ~170 ms, on every command that counts tokens. Same array, so same counts
 * (test/core/requests/tokenizer.test.ts). Kept with the gpt-tokenizer version it was read from:
 * another version, a file missing or unreadable by this Node's V8, and the `.tiktoken` is read.
 */
export function ranksCacheFile(name: TextEncoding): string {
  // Found from the package's root, not next to the calling module: the CLI runs bundled.
  return path.join(packageRoot(), 'dist', 'src', 'core', 'requests', `${name}.ranks.v8`);
}

interface RanksCache {
  gptTokenizer: string;
  name: TextEncoding;
  ranks: Array<string | number[]>;
}

export function saveRanksCache(name: TextEncoding, file = ranksCacheFile(name)): void {
  const cache: RanksCache = { gptTokenizer: gptTokenizerVersion(), name, ranks: readRanks(name) };
  writeFileSync(file, serialize(cache));
}

export function readCachedRanks(name: TextEncoding, file = ranksCacheFile(name)): Array<string | number[]> | undefined {
  let cache: Partial<RanksCache> | undefined;
  try {
    cache = deserialize(readFileSync(file)) as Partial<RanksCache>;
  } catch {
    return undefined;
  }
  const fits = cache?.gptTokenizer === gptTokenizerVersion() && cache.name === name && Array.isArray(cache.ranks) && cache.ranks.length > 0;
  return fits ? cache!.ranks : undefined;
}

function gptTokenizerVersion(): string {
  return (require('gpt-tokenizer/package.json') as { version: string }).version;
}

/**
 * A `.tiktoken` file: a line per token, `<base64 bytes> <rank>`. Ranks decode to strings when
 * their bytes are whole UTF-8, otherwise to byte arrays (gpt-tokenizer's own format).
 */
export function readRanks(name: TextEncoding): Array<string | number[]> {
  const file = require.resolve(`gpt-tokenizer/data/${name}.tiktoken`);
  const ranks: Array<string | number[]> = [];
  // ignoreBOM: the token EF BB BF is a BOM, kept as the character, not dropped.
  const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const chunk = Buffer.allocUnsafe(64 * 1024);
  const fd = openSync(file, 'r');
  try {
    let rest = '';
    for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) {
      const text = rest + chunk.toString('latin1', 0, n);
      let start = 0;
      for (let nl = text.indexOf('\n', start); nl !== -1; nl = text.indexOf('\n', start)) {
        const space = text.indexOf(' ', start);
        const bytes = Buffer.from(text.slice(start, space), 'base64');
        let token: string | number[];
        try {
          token = utf8.decode(bytes);
        } catch {
          token = Array.from(bytes);
        }
        ranks[Number(text.slice(space + 1, nl))] = token;
        start = nl + 1;
      }
      rest = text.slice(start);
    }
  } finally {
    closeSync(fd);
  }
  return ranks;
}
