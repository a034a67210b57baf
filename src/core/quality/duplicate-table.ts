import { optionError } from '../../errors.js';

/**
 * Bytes the table takes a slot: the slot itself (32 bits of the hash, its distance from its
 * home slot, an entry number: 4 + 1 + 4) and, for the 75% of slots that may be filled, an entry
 * (the first row's reference in 5 bytes, a count, the first row's flags: 5 + 4 + 1).
 */
export const DUPLICATE_SLOT_BYTES = 4 + 1 + 4 + (5 + 4 + 1) * 0.75;
/** Default memory of the table: 2^21 slots (35 MB), room for ~1.5 million distinct explanations. */
export const DEFAULT_DUPLICATE_MEMORY = 64 * 1024 * 1024;
/** Filled up to this share of its slots (linear probing stays short under it). */
const MAX_LOAD = 0.75;
const MIN_SLOTS = 1024;
/** Longest probe (distances are kept in a byte); a text that would go further is not tracked. */
const MAX_PROBE = 255;
/** References (byte offsets) are kept in 5 bytes. */
const MAX_REF = 2 ** 40;

/** {@link DuplicateTable.add}'s answer for a text not tracked: the table is full and the text is not in it. */
export const UNTRACKED = -1;

/**
 * Counts explanations by the 52-bit hash of their normalised text, in bounded memory, for
 * `duplicate_text`: each distinct text keeps its count, a reference to its first row (the
 * caller's number below 2^40: a byte offset, a row index) and that row's flags.
 *
 * Memory: the largest power-of-two number of slots that fits `maxBytes` ({@link
 * DUPLICATE_SLOT_BYTES} each), allocated once, zero-filled, so only the pages touched become
 * resident: a small file costs little. A slot keeps the 32 bits of the hash above those that chose
 * its home slot, and its distance from that home (so the hash is known without storing it), and an entry
 * number; entries are filled in order (their pages become resident as they fill). No rehash, so
 * no second copy at a growth. When 75% of the slots are taken, texts not seen before are no
 * longer added (counted in {@link untracked}); those already in keep counting. Two different
 * texts share a hash with a chance of about n²/2^53 (1e-4 for a million distinct texts).
 */
export class DuplicateTable {
  readonly slots: number;
  private readonly mask: number;
  /** The hash's 32 bits above the home slot's. */
  private readonly tops: Uint32Array;
  /** Distance from the home slot + 1; 0: empty. */
  private readonly distances: Uint8Array;
  private readonly slotEntries: Uint32Array;
  private readonly refsLow: Uint32Array;
  private readonly refsHigh: Uint8Array;
  private readonly counts: Uint32Array;
  private readonly flags: Uint8Array;
  private size = 0;
  private readonly limit: number;
  /** Rows whose text was new when the table was full: not checked for duplicates. */
  untracked = 0;
  /** The entry of the last {@link add} (-1 when untracked). */
  lastEntry = -1;

  constructor(maxBytes: number = DEFAULT_DUPLICATE_MEMORY) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < MIN_SLOTS * DUPLICATE_SLOT_BYTES) {
      throw optionError('duplicateMemory', maxBytes, `a byte count of at least ${Math.ceil(MIN_SLOTS * DUPLICATE_SLOT_BYTES)}`);
    }
    let slots = MIN_SLOTS;
    while (slots * 2 * DUPLICATE_SLOT_BYTES <= maxBytes && slots < 2 ** 30) slots *= 2;
    this.slots = slots;
    this.mask = slots - 1;
    this.limit = Math.floor(slots * MAX_LOAD);
    this.tops = new Uint32Array(slots);
    this.distances = new Uint8Array(slots);
    this.slotEntries = new Uint32Array(slots);
    this.refsLow = new Uint32Array(this.limit);
    this.refsHigh = new Uint8Array(this.limit);
    this.counts = new Uint32Array(this.limit);
    this.flags = new Uint8Array(this.limit);
  }

  /** Distinct texts held. */
  get distinct(): number {
    return this.size;
  }

  /** Whether new texts are still added. */
  get full(): boolean {
    return this.size >= this.limit;
  }

  /**
   * Counts one row's text. Returns how many rows had it so far, this one included (1: first
   * seen, its `ref` and `flags` kept), or {@link UNTRACKED}. On 2, the first row is now a
   * duplicate too: {@link firstRef}/{@link firstFlags} of {@link lastEntry} name it.
   */
  add(hash: number, ref: number, flags: number): number {
    if (!(ref >= 0 && ref < MAX_REF)) throw new RangeError(`DuplicateTable: reference ${ref} out of [0, 2^40)`);
    // The 32 bits above those that chose the home slot (all of them for 2^20 slots and more).
    const top = Math.floor(hash / this.slots) >>> 0;
    let i = (hash >>> 0) & this.mask;
    let distance = 1;
    while (true) {
      const d = this.distances[i]!;
      if (d === 0) break;
      // Same distance from here: same home slot, so the same low bits; then the top bits decide.
      if (d === distance && this.tops[i] === top) {
        const e = this.slotEntries[i]!;
        this.lastEntry = e;
        return ++this.counts[e]!;
      }
      i = (i + 1) & this.mask;
      if (++distance > MAX_PROBE) return this.untrack();
    }
    if (this.size >= this.limit) return this.untrack();
    const e = this.size++;
    this.tops[i] = top;
    this.distances[i] = distance;
    this.slotEntries[i] = e;
    this.refsLow[e] = ref >>> 0;
    this.refsHigh[e] = Math.floor(ref / 0x100000000);
    this.counts[e] = 1;
    this.flags[e] = flags;
    this.lastEntry = e;
    return 1;
  }

  firstRef(entry: number): number {
    return this.refsHigh[entry]! * 0x100000000 + this.refsLow[entry]!;
  }

  firstFlags(entry: number): number {
    return this.flags[entry]!;
  }

  count(entry: number): number {
    return this.counts[entry]!;
  }

  /** The `k` texts seen most often (at least twice), most first, ties by first row: entries. */
  top(k: number): number[] {
    const best: number[] = [];
    if (k < 1) return best;
    for (let i = 0; i < this.size; i++) {
      const c = this.counts[i]!;
      if (c < 2 || (best.length === k && !this.before(i, best[k - 1]!))) continue;
      let j = best.length < k ? best.length : k - 1;
      best[j] = i;
      while (j > 0 && this.before(best[j]!, best[j - 1]!)) {
        [best[j], best[j - 1]] = [best[j - 1]!, best[j]!];
        j--;
      }
    }
    return best;
  }

  /** Groups of rows sharing a text and the rows in them: Σ count over texts seen twice or more. */
  duplicateStats(): { groups: number; rows: number } {
    let groups = 0;
    let rows = 0;
    for (let i = 0; i < this.size; i++) {
      const c = this.counts[i]!;
      if (c >= 2) {
        groups++;
        rows += c;
      }
    }
    return { groups, rows };
  }

  private untrack(): number {
    this.untracked++;
    this.lastEntry = -1;
    return UNTRACKED;
  }

  private before(a: number, b: number): boolean {
    const ca = this.counts[a]!;
    const cb = this.counts[b]!;
    return ca > cb || (ca === cb && this.firstRef(a) < this.firstRef(b));
  }
}
