import { copyBytes } from '../io/sync-writer.js';
import type { SortedEntry } from './run-sorter.js';

/**
 * One key's entries of one side of a join. A group of one entry is a view of its batch (most
 * groups: an id on one row, with one result) until {@link keep} is called, before the batch it is
 * in moves on; entries are copied out of their batch from the second one on.
 */
export class EntryGroup {
  buf: Buffer;
  starts: number[] = [];
  ends: number[] = [];
  count = 0;
  #own = Buffer.allocUnsafe(4096);
  #used = 0;
  /** Whether `buf` is the batch of the one entry held. */
  #borrowed = false;

  constructor() {
    this.buf = this.#own;
  }

  clear(): void {
    this.count = 0;
    this.#used = 0;
    this.#borrowed = false;
    this.buf = this.#own;
  }

  add(e: SortedEntry): void {
    if (this.count === 0) {
      this.buf = e.buf;
      this.starts[0] = e.start;
      this.ends[0] = e.end;
      this.count = 1;
      this.#borrowed = true;
      return;
    }
    this.keep();
    this.#copy(e.buf, e.start, e.end);
  }

  /** Copies the entry held as a view into the group's own buffer: its batch is about to move on. */
  keep(): void {
    if (!this.#borrowed) return;
    this.#borrowed = false;
    const from = this.buf;
    this.buf = this.#own;
    this.count = 0;
    this.#copy(from, this.starts[0]!, this.ends[0]!);
  }

  #copy(from: Buffer, start: number, end: number): void {
    const length = end - start;
    if (this.#used + length > this.#own.length) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * this.#own.length, this.#used + length));
      this.#own.copy(bigger, 0, 0, this.#used);
      this.#own = bigger;
      this.buf = bigger;
    }
    copyBytes(from, start, end, this.#own, this.#used);
    this.starts[this.count] = this.#used;
    this.#used += length;
    this.ends[this.count++] = this.#used;
  }

  map<T>(key: number, read: (e: SortedEntry) => T): T[] {
    return Array.from({ length: this.count }, (_, i) => read({ key, buf: this.buf, start: this.starts[i]!, end: this.ends[i]! }));
  }
}
