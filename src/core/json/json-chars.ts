/**
 * JSON's string escapes and UTF-8, as bytes, for the merge's result scan (result-json.ts,
 * trimmed-literal.ts): an escape read as a code point, a UTF-8 sequence checked and decoded, a
 * code point written as UTF-8 or as `JSON.stringify` writes it inside a string literal.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

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
export const INVALID = -1;
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
export function writeCodePoint(out: Uint8Array, at: number, cp: number): number {
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
