/**
 * The merge's table of dataset ids, for the join by table (merge-table.ts): each row's id as two
 * independent hashes of its JSON literal (a 52-bit key and a 32-bit check: {@link idHashes})
 * → its line. Open addressing in typed arrays over shared memory: built by the main thread, then
 * read by the threads that parse the results, with no copy. 16 bytes a slot, at most 70% of the
 * slots used (linear probing: about 2 probes to find an id, 6 to miss one).
 */

/** The most of its slots a table fills. */
export const MAX_LOAD = 0.7;

/** A table's memory, to hand to another thread. */
export type IdTableMemory = SharedArrayBuffer;

/** What {@link IdTable.find} returns for an id the table does not hold. */
export const NOT_FOUND = -1;

export class IdTable {
  /** Bytes a slot takes: a key (float64), then a check and a line (int32), side by side so that a probe reads one cache line. */
  static readonly SLOT_BYTES = 16;

  /** Slot i's key at `#keys[2i]`. */
  #keys: Float64Array;
  /** Slot i's check at `#ints[4i + 2]`, its line at `#ints[4i + 3]` (0: an empty slot; lines count from 1). */
  #ints: Int32Array;
  #mask: number;
  #size = 0;

  constructor(slots: number) {
    if (slots < 2 || (slots & (slots - 1)) !== 0) throw new Error(`IdTable: ${slots} slots: expected a power of 2`);
    const memory = new SharedArrayBuffer(slots * IdTable.SLOT_BYTES);
    this.#keys = new Float64Array(memory);
    this.#ints = new Int32Array(memory);
    this.#mask = slots - 1;
  }

  /** A table over the memory of another (on another thread): to be read only. */
  static over(memory: IdTableMemory): IdTable {
    const table = new IdTable(2);
    table.#keys = new Float64Array(memory);
    table.#ints = new Int32Array(memory);
    table.#mask = memory.byteLength / IdTable.SLOT_BYTES - 1;
    table.#size = -1;
    return table;
  }

  get memory(): IdTableMemory {
    return this.#keys.buffer as SharedArrayBuffer;
  }

  get slots(): number {
    return this.#mask + 1;
  }

  get size(): number {
    return this.#size;
  }

  /** Whether one more entry keeps the table at most {@link MAX_LOAD} full. */
  get roomy(): boolean {
    return this.#size + 1 <= this.slots * MAX_LOAD;
  }

  /**
   * Adds `key` → `line` (a line from 1). Returns 0, or the line already there under the same key
   * (a repeated id, or two ids whose keys collide: the caller tells them apart, the table keeps
   * the first).
   */
  insert(key: number, check: number, line: number): number {
    if (line < 1) throw new Error(`IdTable: line ${line}`);
    if (!this.roomy) throw new Error('IdTable: full (grow it first)');
    for (let i = slotOf(key) & this.#mask; ; i = (i + 1) & this.#mask) {
      const there = this.#ints[4 * i + 3]!;
      if (there === 0) {
        this.#keys[2 * i] = key;
        this.#ints[4 * i + 2] = check;
        this.#ints[4 * i + 3] = line;
        this.#size++;
        return 0;
      }
      if (this.#keys[2 * i] === key) return there;
    }
  }

  /**
   * Adds entries `from`… of a chunk's arrays (`keys[i]`, `checks[i]` → line `base + rels[i]`), in
   * one loop: the main thread adds a million of them while the threads hash the next chunks.
   * Returns where it stopped: `count` when all are in, else at an entry whose key is there
   * already ({@link repeated} true) or for which there is no room.
   */
  insertMany(keys: Float64Array, checks: Int32Array, rels: Int32Array, from: number, count: number, base: number): number {
    this.repeated = false;
    const room = Math.floor(this.slots * MAX_LOAD) - this.#size;
    const end = Math.min(count, from + Math.max(0, room));
    const ints = this.#ints;
    const stored = this.#keys;
    const mask = this.#mask;
    for (let n = from; n < end; n++) {
      const key = keys[n]!;
      for (let i = slotOf(key) & mask; ; i = (i + 1) & mask) {
        if (ints[4 * i + 3] === 0) {
          stored[2 * i] = key;
          ints[4 * i + 2] = checks[n]!;
          ints[4 * i + 3] = base + rels[n]!;
          break;
        }
        if (stored[2 * i] === key) {
          this.repeated = true;
          this.#size += n - from;
          return n;
        }
      }
    }
    this.#size += end - from;
    return end;
  }

  /** Whether {@link insertMany} stopped at a key already there. */
  repeated = false;

  /** The line of the id with `key` and `check`, or {@link NOT_FOUND} (also for a key there with another check: another id). */
  find(key: number, check: number): number {
    for (let i = slotOf(key) & this.#mask; ; i = (i + 1) & this.#mask) {
      const there = this.#ints[4 * i + 3]!;
      if (there === 0) return NOT_FOUND;
      if (this.#keys[2 * i] === key) return this.#ints[4 * i + 2] === check ? there : NOT_FOUND;
    }
  }

  /** A table of `slots` slots holding the same entries. */
  grown(slots: number): IdTable {
    const bigger = new IdTable(slots);
    for (let i = 0; i <= this.#mask; i++) if (this.#ints[4 * i + 3] !== 0) bigger.insert(this.#keys[2 * i]!, this.#ints[4 * i + 2]!, this.#ints[4 * i + 3]!);
    return bigger;
  }
}

/** The low 32 bits of a key (a 52-bit hash: they are well mixed). */
function slotOf(key: number): number {
  return key >>> 0;
}

/**
 * The two hashes of an id literal `buf[start, end)`, as the table takes them: three 32-bit
 * lanes over its bytes four at a time (murmur3's mixing), two of them the 52-bit key, the third
 * the check. One pass: the ids of a million rows are hashed twice in a merge (rows, results).
 */
export function idHashes(buf: Uint8Array, start: number, end: number, into: { key: number; check: number }): void {
  let a = 0x9747b28c;
  let b = 0x4a1ac0a6;
  let c = 0x27d4eb2f;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const w = buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    const k = mix(w);
    a ^= k;
    a = Math.imul((a << 13) | (a >>> 19), 5) + 0xe6546b64;
    b ^= Math.imul(w, 0x2c1b3c6d);
    b = Math.imul((b << 11) | (b >>> 21), 0x297a2d39);
    c = Math.imul(c ^ k, 0x9e3779b1);
    c = (c << 17) | (c >>> 15);
  }
  let tail = 0;
  for (let shift = 0; i < end; i++, shift += 8) tail |= buf[i]! << shift;
  const k = mix(tail);
  a ^= k;
  b ^= Math.imul(tail, 0x2c1b3c6d);
  c = Math.imul(c ^ k ^ 0x5bd1e995, 0x9e3779b1);
  const length = end - start;
  into.key = (finish(b, length) & 0xfffff) * 0x100000000 + (finish(a, length) >>> 0);
  into.check = finish(c, length);
}

function mix(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  return Math.imul((k << 15) | (k >>> 17), 0x1b873593);
}

/** murmur3's finalizer: every bit of the lane reaches every other. */
function finish(h: number, length: number): number {
  h ^= length;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}
