/**
 * The stable sort order of integer keys by LSD radix sort, a byte per pass: a few linear passes
 * instead of ~20 comparisons (each a call into a comparator) per key. The merge sorts millions
 * of line numbers, offsets and id hashes this way. Keys are read through `keyAt` (the sorter
 * keeps them in its arena); `scratch`, when given, holds the work arrays (4 × `count` words: the
 * order returned is a view of it). Returns null when a key is not an integer or the keys span
 * 2^53 or more (the caller compares instead).
 */
export function integerOrder(count: number, keyAt: (i: number) => number, scratch?: Uint32Array): Uint32Array | null {
  const n = count;
  const words = scratch && scratch.length >= 4 * n ? scratch : new Uint32Array(4 * n);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const k = keyAt(i);
    if (!Number.isInteger(k)) return null;
    if (k < min) min = k;
    if (k > max) max = k;
  }
  let order = words.subarray(0, n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (n < 2 || max === min) return order;
  const span = max - min;
  if (!Number.isSafeInteger(span)) return null;
  // Keys as offsets from the smallest, split into 32-bit halves.
  const lo = words.subarray(2 * n, 3 * n);
  const hi = span >= TWO_32 ? words.subarray(3 * n, 4 * n) : null;
  for (let i = 0; i < n; i++) {
    const d = keyAt(i) - min;
    lo[i] = d % TWO_32;
    if (hi) hi[i] = Math.floor(d / TWO_32);
  }
  let next = words.subarray(n, 2 * n);
  const counts = new Uint32Array(256);
  const pass = (digits: Uint32Array, shift: number) => {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(digits[order[i]!]! >>> shift) & 255]!++;
    let sum = 0;
    for (let d = 0; d < 256; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const idx = order[i]!;
      next[counts[(digits[idx]! >>> shift) & 255]!++] = idx;
    }
    [order, next] = [next, order];
  };
  const loBits = hi ? 32 : bitLength(span);
  for (let shift = 0; shift < loBits; shift += 8) pass(lo, shift);
  if (hi) for (let shift = 0, bits = bitLength(Math.floor(span / TWO_32)); shift < bits; shift += 8) pass(hi, shift);
  return order;
}

const TWO_32 = 2 ** 32;

/** Bits needed for n < 2^32 (both halves fit: the span is below 2^53). */
function bitLength(n: number): number {
  return 32 - Math.clz32(n);
}
