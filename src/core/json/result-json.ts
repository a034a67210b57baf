/**
 * JSON read as bytes, for the merge's result scan (result-scan.ts): values checked against the
 * JSON grammar and skipped where they lie, string literals decoded to UTF-8 (escapes and UTF-8:
 * json-chars.ts), without making a JS value. Every reader returns the index after
 * what it read, or {@link FAIL}; none reads at or past `end`.
 */

import { INVALID, readEscape, writeCodePoint } from './json-chars.js';

export const FAIL = -1;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The index of the first byte from `i` that is not JSON whitespace (space, tab, LF, CR). */
export function skipSpace(b: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = b[i]!;
    // Most bytes here are a token's first (one comparison).
    if (c > 0x20 || (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d)) break;
    i++;
  }
  return i;
}

/** The end of the number at `i` (JSON's grammar: no `+`, no leading zeros, digits around `.`). */
function skipNumber(b: Uint8Array, i: number, end: number): number {
  if (i < end && b[i] === 0x2d) i++;
  if (i >= end) return FAIL;
  if (b[i] === 0x30) i++;
  else if (isDigit(b[i]!)) while (i < end && isDigit(b[i]!)) i++;
  else return FAIL;
  if (i < end && b[i] === 0x2e) {
    if (++i >= end || !isDigit(b[i]!)) return FAIL;
    while (i < end && isDigit(b[i]!)) i++;
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    if (++i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    if (i >= end || !isDigit(b[i]!)) return FAIL;
    while (i < end && isDigit(b[i]!)) i++;
  }
  return i;
}

/** A byte a string literal cannot hold as it is. */
function isSpecial(c: number): boolean {
  return c < 0x20 || c === QUOTE || c === BACKSLASH;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Whether `b[i, end)` starts with `word` (a literal's letters). */
export function startsWith(b: Uint8Array, i: number, end: number, word: Uint8Array): boolean {
  if (i + word.length > end) return false;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return false;
  return true;
}

/** Whether `b[start, end)` is exactly `word`. */
export function bytesEqual(b: Uint8Array, start: number, end: number, word: Uint8Array): boolean {
  return end - start === word.length && startsWith(b, start, end, word);
}

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
export const NULL = Buffer.from('null');

/**
 * Reads string literals and whole values. `escaped` tells whether the last string read held an
 * escape (its raw bytes then differ from its text). Values nested deeper than `maxDepth` fail.
 * `size` is scratch for {@link readEscape}.
 */
export class JsonSkipper {
  escaped = false;
  /** Where {@link decode} stopped writing. */
  written = 0;
  readonly maxDepth: number;
  readonly size = new Int32Array(1);

  constructor(maxDepth = 64) {
    this.maxDepth = maxDepth;
  }

  /**
   * Where {@link decode} wrote a quote, a backslash or a control character, in order: the first
   * `#specialCount`, unless it wrote more than this holds (the count is then past its length).
   */
  readonly #specials = new Int32Array(256);
  #specialCount = 0;

  /**
   * Checks the string literal whose opening quote is at `b[i]` and writes its text as UTF-8 at
   * `out[at]` (its bytes as they are: they are not checked as UTF-8), up to {@link written};
   * returns the end of the literal. `out` needs room for the literal's length.
   */
  decode(b: Uint8Array, i: number, end: number, out: Uint8Array, at: number): number {
    this.#specialCount = 0;
    for (i++; ; ) {
      const stop = this.special(b, i, end);
      if (stop - i > 48) {
        // Natively (special() has noted `b`'s memory): the call costs what a JS loop over about 48 bytes does.
        out.set(new Uint8Array(this.#memory, this.#memoryAt + i, stop - i), at);
        at += stop - i;
        i = stop;
      } else while (i < stop) out[at++] = b[i++]!;
      if (i >= end) return FAIL;
      const c = b[i]!;
      if (c === QUOTE) {
        this.written = at;
        return i + 1;
      }
      if (c !== BACKSLASH) return FAIL;
      // A lone surrogate: not UTF-8 (the full parse reads such a line).
      const cp = readEscape(b, i, end, this.size);
      if (cp < 0) return FAIL;
      // Only an escape writes such a character (the runs copied hold none).
      if (cp < 0x20 || cp === QUOTE || cp === BACKSLASH) this.#noteSpecial(at);
      at = writeCodePoint(out, at, cp);
      i += this.size[0]!;
    }
  }

  #noteSpecial(at: number): void {
    if (this.#specialCount < this.#specials.length) this.#specials[this.#specialCount] = at;
    this.#specialCount++;
  }

  /**
   * The first place after `at` where the text {@link decode} wrote last holds a quote, a backslash
   * or a control character, or {@link written}: what {@link special} would find there, without
   * reading the text again. FAIL if there were too many such characters to note.
   */
  writtenSpecialAfter(at: number): number {
    if (this.#specialCount > this.#specials.length) return FAIL;
    const specials = this.#specials;
    let lo = 0;
    let hi = this.#specialCount;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (specials[mid]! <= at) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.#specialCount ? specials[lo]! : this.written;
  }

  /**
   * The array {@link special} read last, and its memory: as 32-bit words from the one `b[0]` is in
   * (null if `b` is too long for int32 indexes, 2 GiB: never a line here), `b[0]`'s place in the
   * first, and as bytes (for {@link decode}'s copies).
   */
  #wordsOf: Uint8Array | null = null;
  #words: Int32Array<ArrayBufferLike> | null = null;
  #head = 0;
  #memory: ArrayBufferLike = new ArrayBuffer(0);
  #memoryAt = 0;

  /**
   * The index of the first byte in `b[i, end)` that a string literal cannot hold as it is (a quote,
   * a backslash or a control character), or `end`. Reads four bytes at a time where they fill a
   * word of `b`'s memory: a test per word, about 3 times faster than one per byte.
   */
  special(b: Uint8Array, i: number, end: number): number {
    // Made for another array only: reading `buffer` and `byteOffset` cost 30 ns a call.
    if (b !== this.#wordsOf) this.#wordsFor(b);
    const words = this.#words;
    const head = this.#head;
    if (words !== null) {
      for (; i < end && ((head + i) & 3) !== 0; i++) if (isSpecial(b[i]!)) return i;
      // Not on to the words when `end` came first: `w * 4 - head` below would then go back before `i`.
      if (i >= end) return end;
      const last = (head + end) >> 2;
      let w = (head + i) >> 2;
      for (; w < last; w++) {
        const v = words[w]!;
        // Whether a byte is below 0x21 once XORed with 2 (a control character or `"`) or 0 once
        // XORed with `\` (SWAR "has less than" and "has zero": exact for the word, not per byte).
        const t = v ^ 0x02020202;
        const u = v ^ 0x5c5c5c5c;
        if ((((t - 0x21212121) & ~t) | ((u - 0x01010101) & ~u)) & 0x80808080) break;
      }
      i = w * 4 - head;
    }
    for (; i < end; i++) if (isSpecial(b[i]!)) return i;
    return end;
  }

  #wordsFor(b: Uint8Array): void {
    const head = b.byteOffset % 4;
    this.#wordsOf = b;
    this.#words = b.length > 0x7ffffff0 ? null : new Int32Array(b.buffer, b.byteOffset - head, (head + b.length) >> 2);
    this.#head = head;
    this.#memory = b.buffer;
    this.#memoryAt = b.byteOffset;
  }

  /** The end of the string literal whose opening quote is at `i`. Runs of plain bytes are skipped a word at a time ({@link special}). */
  string(b: Uint8Array, i: number, end: number): number {
    this.escaped = false;
    for (i++; ; ) {
      i = this.special(b, i, end);
      if (i >= end) return FAIL;
      const c = b[i]!;
      if (c === QUOTE) return i + 1;
      if (c !== BACKSLASH) return FAIL; // a control character
      this.escaped = true;
      if (readEscape(b, i, end, this.size) === INVALID) return FAIL;
      i += this.size[0]!;
    }
  }

  /** The end of the value at `i` (of any kind), checked. */
  value(b: Uint8Array, i: number, end: number, depth: number): number {
    if (i >= end) return FAIL;
    const c = b[i]!;
    if (c === QUOTE) return this.string(b, i, end);
    if (c === 0x7b) return this.object(b, i, end, depth + 1);
    if (c === 0x5b) return this.array(b, i, end, depth + 1);
    if (c === 0x74) return startsWith(b, i, end, TRUE) ? i + 4 : FAIL;
    if (c === 0x66) return startsWith(b, i, end, FALSE) ? i + 5 : FAIL;
    if (c === 0x6e) return startsWith(b, i, end, NULL) ? i + 4 : FAIL;
    return skipNumber(b, i, end);
  }

  /** An object at `i`, its members only checked. */
  object(b: Uint8Array, i: number, end: number, depth: number): number {
    if (depth > this.maxDepth) return FAIL;
    i = skipSpace(b, i + 1, end);
    if (i < end && b[i] === 0x7d) return i + 1;
    for (;;) {
      if (i >= end || b[i] !== QUOTE) return FAIL;
      i = skipSpace(b, this.string(b, i, end), end);
      if (i < 0 || i >= end || b[i] !== 0x3a) return FAIL;
      i = this.value(b, skipSpace(b, i + 1, end), end, depth);
      if (i < 0) return FAIL;
      i = skipSpace(b, i, end);
      if (i < end && b[i] === 0x2c) i = skipSpace(b, i + 1, end);
      else return i < end && b[i] === 0x7d ? i + 1 : FAIL;
    }
  }

  /** An array at `i`, its elements only checked. */
  array(b: Uint8Array, i: number, end: number, depth: number): number {
    if (depth > this.maxDepth) return FAIL;
    i = skipSpace(b, i + 1, end);
    if (i < end && b[i] === 0x5d) return i + 1;
    for (;;) {
      i = this.value(b, i, end, depth);
      if (i < 0) return FAIL;
      i = skipSpace(b, i, end);
      if (i < end && b[i] === 0x2c) i = skipSpace(b, i + 1, end);
      else return i < end && b[i] === 0x5d ? i + 1 : FAIL;
    }
  }
}
