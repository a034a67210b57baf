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

  /** A SortMemory lending `buffer` (a part of another arena). */
  static over(buffer: Buffer): SortMemory {
    const memory = new SortMemory(buffer.length);
    memory.#free = buffer;
    return memory;
  }

  take(): Buffer {
    const buffer = this.#free ?? Buffer.allocUnsafeSlow(this.bytes - (this.bytes % 8));
    this.#free = null;
    return buffer;
  }

  give(buffer: Buffer): void {
    if (buffer.length >= this.bytes - 7) this.#free = buffer;
  }

  /**
   * The staging buffer runs are written through (1 MiB), shared by the sorters lending this
   * arena: runs are written one at a time, and a buffer made per run stayed resident until a
   * collection came (the merge's loops leave the collector little reason to run).
   */
  get stage(): Buffer {
    return (this.#stage ??= Buffer.allocUnsafeSlow(1 << 20));
  }
}
