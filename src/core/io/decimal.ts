/**
 * Non-negative integers as decimal bytes, written and read in place: the merge's sorts key and
 * label millions of entries with line numbers and offsets, where a string each is garbage.
 */

/** Writes `n` (a non-negative safe integer) at `buf[at]`; returns the end. */
export function writeDecimal(buf: Buffer, at: number, n: number): number {
  if (n < 10) {
    buf[at] = 48 + n;
    return at + 1;
  }
  let digits = 1;
  for (let m = n; m >= 10; m = Math.floor(m / 10)) digits++;
  for (let i = at + digits - 1, m = n; i >= at; i--, m = Math.floor(m / 10)) buf[i] = 48 + (m % 10);
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
