import { integerOrder } from './radix-order.js';
import { writeDecimal } from '../io/decimal.js';
import type { SortMemory } from './sort-memory.js';

/**
 * The in-memory half of the external sort ({@link RunSorter} spills it to runs): entries packed
 * into one arena borrowed from a {@link SortMemory}. Entry bytes (`<key>\t<payload>\n`) grow from
 * its start; each entry's start offset and number key (two float64 slots) from its end, with as
 * much again left free below them for the radix sort's scratch, so the arena is all the memory a
 * run takes (string keys aside, held as strings to compare and counted).
 */
export class SortArena {
  readonly #memory: SortMemory;
  readonly #kind: 'string' | 'number';
  #buffer: Buffer | null = null;
  #meta: Float64Array = EMPTY_META;
  #count = 0;
  #used = 0;
  #held = 0;
  #stringKeys: string[] = [];

  constructor(memory: SortMemory, kind: 'string' | 'number') {
    this.#memory = memory;
    this.#kind = kind;
  }

  /** Entries held. */
  get count(): number {
    return this.#count;
  }

  /** The arena's bytes (entries are ranges of it). */
  get buffer(): Buffer {
    return this.#buffer ?? EMPTY;
  }

  /**
   * Room for one entry of at most `maxPayloadBytes`: writes its key (`keyText`, or the number's
   * digits when `keyText` is empty) and a tab, and returns where the payload goes; -1 when it
   * does not fit (the caller spills and tries again, or the entry is larger than the arena).
   */
  reserve(key: string | number, keyText: string, maxPayloadBytes: number): number {
    const maxLine = (keyText.length || 16) * 3 + 1 + maxPayloadBytes + 1;
    const keyBytes = this.#kind === 'string' ? (key as string).length * 2 + 24 : 0;
    if (!this.#buffer) {
      this.#buffer = this.#memory.take();
      this.#meta = new Float64Array(this.#buffer.buffer, this.#buffer.byteOffset, this.#buffer.length >> 3);
    }
    // Room for the line, and for its 32 bytes of slots and scratch below the slots in use.
    const slotsFrom = (this.#meta.length - 4 * (this.#count + 1)) * 8;
    if (this.#used + maxLine > slotsFrom || this.#held + keyBytes + maxLine + 32 * (this.#count + 1) > this.#memory.bytes) return -1;
    const m = this.#meta.length - 2 * this.#count;
    this.#meta[m - 1] = this.#used;
    if (this.#kind === 'number') this.#meta[m - 2] = key as number;
    this.#held += keyBytes;
    // An empty key text stands for a non-negative integer's digits; an empty string key is just empty.
    let at = this.#kind === 'number' && keyText === '' ? writeDecimal(this.#buffer, this.#used, key as number) : this.#used + this.#buffer.write(keyText, this.#used, this.#kind === 'number' ? 'latin1' : 'utf8');
    this.#buffer[at++] = TAB;
    return at;
  }

  /** Ends the entry reserved last at `end` (its payload's end). */
  finish(key: string | number, end: number): void {
    this.#buffer![end] = NEWLINE;
    this.#held += end + 1 - this.#used;
    this.#used = end + 1;
    if (this.#kind === 'string') this.#stringKeys.push(key as string);
    this.#count++;
  }

  /** Start offset of entry i (its key's first byte). */
  startOf(i: number): number {
    return this.#meta[this.#meta.length - 1 - 2 * i]!;
  }

  /** End of entry i, its newline included. */
  endOf(i: number): number {
    return i + 1 < this.#count ? this.startOf(i + 1) : this.#used;
  }

  keyOf(i: number): string | number {
    return this.#kind === 'number' ? this.#meta[this.#meta.length - 2 - 2 * i]! : this.#stringKeys[i]!;
  }

  /**
   * Entry indices in key order (stable): as added when `presorted`, integers by radix sort in the
   * arena's scratch, anything else by comparison. Valid until the next entry is reserved.
   */
  order(presorted: boolean): ArrayLike<number> & Iterable<number> {
    const n = this.#count;
    if (presorted) return Array.from({ length: n }, (_, i) => i);
    if (this.#kind === 'number') {
      const meta = this.#meta;
      const top = meta.length - 2;
      const scratch = new Uint32Array(meta.buffer, meta.byteOffset + (meta.length - 4 * n) * 8, 4 * n);
      const order = integerOrder(n, (i) => meta[top - 2 * i]!, scratch);
      if (order) return order;
    }
    const keys = Array.from({ length: n }, (_, i) => this.keyOf(i));
    return Array.from({ length: n }, (_, i) => i).sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : a - b));
  }

  /** Forgets the entries (the arena is kept). */
  clear(): void {
    this.#used = 0;
    this.#held = 0;
    this.#count = 0;
    this.#stringKeys = [];
  }

  /** Gives the arena back to its SortMemory (the next sorter's, or this one's next run). */
  release(): void {
    if (this.#buffer) this.#memory.give(this.#buffer);
    this.#buffer = null;
    this.#meta = EMPTY_META;
  }
}

const TAB = 9;
const NEWLINE = 10;
const EMPTY = Buffer.alloc(0);
const EMPTY_META = new Float64Array(0);
