/**
 * Non-negative integers as decimal bytes, written and read in place: the merge's sorts key and
 * label millions of entries with line numbers and offsets, where a string each is garbage.
 */

/** Writes `n` (a non-negative safe integer) at `buf[at]`; returns the end. */
export function writeDecimal(buf: Buffer, at: number, n: number): number {
  if (n < 1e8) return writeSmall(buf, at, n);
  if (!Number.isSafeInteger(n)) throw new Error(`writeDecimal: ${n} is not a safe integer`);
  // Large keys (52-bit hashes, file positions) in two halves of small-integer arithmetic:
  // dividing doubles digit by digit cost more than the rest of a merge's key handling.
  const high = Math.floor(n / 1e8);
  const low = n - high * 1e8;
  at = high < 1e8 ? writeSmall(buf, at, high) : writeDecimal(buf, at, high);
  for (let i = at + 7, m = low; i >= at; i--, m = (m / 10) | 0) buf[i] = 48 + (m % 10);
  return at + 8;
}

/** {@link writeDecimal} of `n` < 10^8. */
function writeSmall(buf: Buffer, at: number, n: number): number {
  const digits = n < 10 ? 1 : n < 100 ? 2 : n < 1e3 ? 3 : n < 1e4 ? 4 : n < 1e5 ? 5 : n < 1e6 ? 6 : n < 1e7 ? 7 : 8;
  for (let i = at + digits - 1, m = n; i >= at; i--, m = (m / 10) | 0) buf[i] = 48 + (m % 10);
  return at + digits;
}

/** The decimal digits `buf[start, end)` as a number (all of them must be digits). */
export function readDecimal(buf: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) n = n * 10 + (buf[i]! - 48);
  return n;
}

/** Whether `buf[start, end)` is a plain run of decimal digits that {@link readDecimal} reads exactly. */
export function isDecimal(buf: Buffer, start: number, end: number): boolean {
  if (end <= start || end - start > 15) return false;
  for (let i = start; i < end; i++) if (buf[i]! < 48 || buf[i]! > 57) return false;
  return true;
}
