/** The explanation literal of a result line, trimmed and re-escaped as the full parse would write it (the merge's result scan). */
import { FAIL } from './result-json.js';
import { codePointOf, readEscape, utf8Length, writeJsonChar } from './json-chars.js';

// Local constants, as in result-scan.ts: imported bindings were folded less well into the loop.
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Reads the string literal at `b[i]` as the full parse would, then `trim()`s its text and writes
 * it at `out[0]` as `JSON.stringify` would, its length in `size[1]`; returns the end of the
 * literal. FAIL also where that is not sure: invalid UTF-8, a lone surrogate, a text that is
 * empty once trimmed or whose ends are spaces beyond ASCII. `out` needs room for the literal's
 * length.
 */
export function trimmedLiteral(b: Uint8Array, i: number, end: number, out: Uint8Array, size: Int32Array): number {
  let at = 0;
  out[at++] = QUOTE;
  // `kept`: the output's end after the last character trim() keeps (0: none yet); `spaceAfter`:
  // a space beyond ASCII came after it, which trim() removes if nothing but spaces follows.
  let kept = 0;
  let spaceAfter = false;
  for (i++; ; ) {
    if (i >= end) return FAIL;
    const c = b[i]!;
    if (c > 0x20 && c < 0x80 && c !== QUOTE && c !== BACKSLASH) {
      // Printable ASCII (and DEL): as it is, and kept.
      out[at++] = c;
      kept = at;
      spaceAfter = false;
      i++;
      continue;
    }
    if (c >= 0x80) {
      const n = utf8Length(b, i, end);
      if (n === 0) return FAIL;
      // Only these lead bytes start a space beyond ASCII (U+00A0, U+1680, U+180E, U+2000–U+205F, U+3000, U+FEFF).
      const space = (c === 0xc2 || c === 0xe1 || c === 0xe2 || c === 0xe3 || c === 0xef) && isUnicodeSpace(codePointOf(b, i, n));
      if (space && kept === 0) return FAIL;
      for (const stop = i + n; i < stop; ) out[at++] = b[i++]!;
      spaceAfter = space;
      if (!space) kept = at;
      continue;
    }
    if (c === QUOTE) break;
    let cp = c;
    if (c === BACKSLASH) {
      cp = readEscape(b, i, end, size);
      if (cp < 0) return FAIL;
      i += size[0]!;
    } else if (c < 0x20) return FAIL;
    else i++; // a space
    if (cp === 0x20 || (cp >= 0x09 && cp <= 0x0d)) {
      if (kept !== 0) at = writeJsonChar(out, at, cp);
      continue;
    }
    if (cp >= 0x80 && isUnicodeSpace(cp)) {
      if (kept === 0) return FAIL;
      spaceAfter = true;
      at = writeJsonChar(out, at, cp);
      continue;
    }
    spaceAfter = false;
    at = writeJsonChar(out, at, cp);
    kept = at;
  }
  if (kept === 0 || spaceAfter) return FAIL;
  out[kept] = QUOTE;
  size[1] = kept + 1;
  return i + 1;
}

/** Code points beyond ASCII that String#trim removes (and U+180E, once one of them). */
export function isUnicodeSpace(cp: number): boolean {
  return cp === 0xa0 || cp === 0x1680 || cp === 0x180e || (cp >= 0x2000 && cp <= 0x200a) || cp === 0x2028 || cp === 0x2029 || cp === 0x202f || cp === 0x205f || cp === 0x3000 || cp === 0xfeff;
}
