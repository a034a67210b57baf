import { constants } from 'node:buffer';

/**
 * The byte arena sorts fill, lent to one sorter at a time: a merge's successive sorts reuse one
 * allocation, instead of each leaving its own for the garbage collector to find (a dropped
 * 64 MiB arena can stay resident until a full collection, beside the next one).
 */
export class SortMemory {
  readonly bytes: number;
  #free: Buffer | null = null;
  #stage: Buffer | null = null;

  constructor(bytes: number) {
    this.bytes = bytes;
  }

  /** A SortMemory lending `buffer` (a part of another arena), and `stage` (that arena's, to be used on the same thread). */
  static over(buffer: Buffer, stage?: Buffer): SortMemory {
    const memory = new SortMemory(buffer.length);
    memory.#free = buffer;
    memory.#stage = stage ?? null;
    return memory;
  }

  take(): Buffer {
    if (!this.#free) this.#allocate();
    const buffer = this.#free!;
    this.#free = null;
    return buffer;
  }

  /**
   * The arena and the stage in one allocation: a run is written by copying its entries from the
   * arena to the stage, which within one ArrayBuffer `copyWithin` does without making a view per
   * entry (half the time of `Buffer#copy` for entries of a few hundred bytes). Not for an arena
   * smaller than the stage (a sort that small may never spill: the stage is made when it does),
   * nor one too large for a Buffer with it.
   */
  #allocate(): void {
    const arenaBytes = this.bytes - (this.bytes % 8);
    if (this.#stage || arenaBytes < STAGE_BYTES || arenaBytes + STAGE_BYTES > constants.MAX_LENGTH) {
      this.#free = Buffer.allocUnsafeSlow(arenaBytes);
      return;
    }
    const both = Buffer.allocUnsafeSlow(arenaBytes + STAGE_BYTES);
    this.#free = both.subarray(0, arenaBytes);
    this.#stage = both.subarray(arenaBytes);
  }

  give(buffer: Buffer): void {
    if (buffer.length < this.bytes - 7) return;
    // Of two arenas lent at once, the one the stage shares its memory with is kept: the stage holds it anyway.
    if (this.#free && this.#free.buffer === this.#stage?.buffer) return;
    this.#free = buffer;
  }

  /**
   * The staging buffer runs are written through (1 MiB), shared by the sorters lending this
   * arena: runs are written one at a time, and a buffer made per run stayed resident until a
   * collection came (the merge's loops leave the collector little reason to run).
   */
  get stage(): Buffer {
    return (this.#stage ??= Buffer.allocUnsafeSlow(STAGE_BYTES));
  }
}

const STAGE_BYTES = 1 << 20;
