/**
 * JSON read as bytes, for the merge's result scan (result-scan.ts): values checked against the
 * JSON grammar and skipped where they lie, string literals decoded to UTF-8 and written back as
 * `JSON.stringify` writes them, without making a JS value. Every reader returns the index after
 * what it read, or {@link FAIL}; none reads at or past `end`.
 */

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

  /** The end of the string literal whose opening quote is at `i`. */
  string(b: Uint8Array, i: number, end: number): number {
    this.escaped = false;
    for (i++; i < end; ) {
      const c = b[i]!;
      if (c > BACKSLASH || (c >= 0x20 && c !== QUOTE && c !== BACKSLASH)) i++;
      else if (c === QUOTE) return i + 1;
      else if (c === BACKSLASH) {
        this.escaped = true;
        if (readEscape(b, i, end, this.size) === INVALID) return FAIL;
        i += this.size[0]!;
      } else return FAIL;
    }
    return FAIL;
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

/** The value of four hex digits at `i`, or -1. */
function hex4(b: Uint8Array, i: number): number {
  let v = 0;
  for (let k = i; k < i + 4; k++) {
    const c = b[k]!;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/** What {@link readEscape} returns for an escape that is not one, and for a lone surrogate's (valid JSON: a JavaScript string holds it, UTF-8 cannot). */
const INVALID = -1;
const LONE_SURROGATE = -2;

/** The character of the escape at `b[i]` (a backslash) as a code point, its length in `size[0]`; or {@link INVALID}, {@link LONE_SURROGATE}. */
export function readEscape(b: Uint8Array, i: number, end: number, size: Int32Array): number {
  if (i + 1 >= end) return INVALID;
  const e = b[i + 1]!;
  size[0] = 2;
  if (e !== 0x75) return e === QUOTE || e === BACKSLASH || e === 0x2f ? e : e === 0x62 ? 0x08 : e === 0x66 ? 0x0c : e === 0x6e ? 0x0a : e === 0x72 ? 0x0d : e === 0x74 ? 0x09 : INVALID;
  size[0] = 6;
  const cp = i + 6 <= end ? hex4(b, i + 2) : -1;
  if (cp < 0) return INVALID;
  if (cp < 0xd800 || cp > 0xdfff) return cp;
  const low = cp < 0xdc00 && i + 12 <= end && b[i + 6] === BACKSLASH && b[i + 7] === 0x75 ? hex4(b, i + 8) : -1;
  if (low < 0xdc00 || low > 0xdfff) return LONE_SURROGATE;
  size[0] = 12;
  return 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
}

/**
 * The length of the well-formed UTF-8 sequence at `b[i]` (a byte of 0x80 or more: no overlong
 * forms, surrogates or code points past U+10FFFF), or 0.
 */
export function utf8Length(b: Uint8Array, i: number, end: number): number {
  const c = b[i]!;
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c === 0xe0) lo = 0xa0;
    else if (c === 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c === 0xf0) lo = 0x90;
    else if (c === 0xf4) hi = 0x8f;
  } else return 0;
  if (i + n > end) return 0;
  const second = b[i + 1]!;
  if (second < lo || second > hi) return 0;
  for (let k = 2; k < n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return 0;
  return n;
}

/** The code point of the well-formed UTF-8 sequence of `n` bytes at `b[i]`. */
export function codePointOf(b: Uint8Array, i: number, n: number): number {
  const c = b[i]!;
  if (n === 2) return ((c & 0x1f) << 6) | (b[i + 1]! & 0x3f);
  if (n === 3) return ((c & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f);
  return ((c & 0x07) << 18) | ((b[i + 1]! & 0x3f) << 12) | ((b[i + 2]! & 0x3f) << 6) | (b[i + 3]! & 0x3f);
}

/** Writes code point `cp` as UTF-8 at `out[at]`; returns the end. */
function writeCodePoint(out: Uint8Array, at: number, cp: number): number {
  if (cp < 0x80) out[at++] = cp;
  else if (cp < 0x800) {
    out[at++] = 0xc0 | (cp >> 6);
    out[at++] = 0x80 | (cp & 0x3f);
  } else if (cp < 0x10000) {
    out[at++] = 0xe0 | (cp >> 12);
    out[at++] = 0x80 | ((cp >> 6) & 0x3f);
    out[at++] = 0x80 | (cp & 0x3f);
  } else {
    out[at++] = 0xf0 | (cp >> 18);
    out[at++] = 0x80 | ((cp >> 12) & 0x3f);
    out[at++] = 0x80 | ((cp >> 6) & 0x3f);
    out[at++] = 0x80 | (cp & 0x3f);
  }
  return at;
}

/**
 * Writes code point `cp` (not a surrogate) at `out[at]` as `JSON.stringify` writes it inside a
 * string literal: `"` and `\` escaped, control characters as `\b \t \n \f \r` or `\u00xx`,
 * everything else as UTF-8. Returns the end.
 */
export function writeJsonChar(out: Uint8Array, at: number, cp: number): number {
  if (cp >= 0x20 && cp !== QUOTE && cp !== BACKSLASH) return writeCodePoint(out, at, cp);
  out[at++] = BACKSLASH;
  const short = cp === QUOTE || cp === BACKSLASH ? cp : cp === 0x08 ? 0x62 : cp === 0x09 ? 0x74 : cp === 0x0a ? 0x6e : cp === 0x0c ? 0x66 : cp === 0x0d ? 0x72 : 0;
  if (short !== 0) {
    out[at++] = short;
    return at;
  }
  out[at++] = 0x75;
  out[at++] = 0x30;
  out[at++] = 0x30;
  out[at++] = HEX[cp >> 4]!;
  out[at++] = HEX[cp & 15]!;
  return at;
}

const HEX = Buffer.from('0123456789abcdef');
