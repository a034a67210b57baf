import { closeSync, openSync, readSync } from 'node:fs';
import { setImmediate } from 'node:timers/promises';
import { plainLines } from '../json/json-line-check.js';
import { JsonSkipper } from '../json/result-json.js';

/**
 * The dataset's lines checked ahead of the merge's splice, in time the main thread would
 * otherwise spend waiting: after it has read the dataset's ids, it waits for the index thread
 * (bench/RESULTS.md: 0.1–1 s at a million rows, one core idle). Meanwhile it reads the dataset
 * from its start, a block at a time, and notes which lines are plain (json-line-check.ts
 * `plainLines`: a JSON object in valid UTF-8 without the explanation field's name), until the
 * wait is over. The splice then skips its own checks for those lines (the JSON grammar, checked in
 * full when the build's rejects are not known, and the search for the field's name): the work is
 * moved out of the merge's last step, not added.
 *
 * Memory: one block while it runs; after, the offsets of the lines that were not plain (at most
 * {@link MAX_NOT_PLAIN}: it stops there).
 */
export class DatasetPrecheck {
  readonly #dataset: string;
  readonly #name: Buffer;
  /** The lines from offset 0 to here were read: all plain but those at `#notPlain`. */
  #checkedTo = 0;
  readonly #notPlain: number[] = [];
  /** The first of `#notPlain` that {@link plain} has not passed. */
  #next = 0;

  /** `field`: the explanation field's name, as the splice searches the line for it. */
  constructor(options: { dataset: string; field: string }) {
    this.#dataset = options.dataset;
    this.#name = Buffer.from(options.field);
  }

  /** Offset up to which the lines were checked. */
  get checkedTo(): number {
    return this.#checkedTo;
  }

  /**
   * Checks blocks of lines until `until` settles (the event loop turns between blocks, for it to),
   * the file ends, or `signal` aborts; an error reading the file ends it too (the splice checks
   * the lines itself). Run once.
   */
  async runUntil(until: Promise<unknown>, signal?: AbortSignal): Promise<void> {
    let done = false;
    until.then(
      () => void (done = true),
      () => void (done = true),
    );
    // A settled `until` is told before any block is read.
    await null;
    let fd = -1;
    try {
      fd = openSync(this.#dataset, 'r');
      const skipper = new JsonSkipper();
      const buf = Buffer.allocUnsafe(BLOCK);
      let filled = 0;
      while (!done && !signal?.aborted && this.#notPlain.length < MAX_NOT_PLAIN) {
        const n = readSync(fd, buf, filled, buf.length - filled, this.#checkedTo + filled);
        filled += n;
        const lines = plainLines(buf, 0, filled, true, this.#name, skipper);
        // The end of the file, or a line longer than a block: the rest is the splice's to check.
        if (lines.from === lines.to) return;
        for (const at of lines.notPlain) this.#notPlain.push(this.#checkedTo + at);
        this.#checkedTo += lines.to;
        buf.copy(buf, 0, lines.to, filled);
        filled -= lines.to;
        await setImmediate();
      }
    } catch {
      // Read again by the splice, which says what is wrong.
    } finally {
      if (fd !== -1) closeSync(fd);
    }
  }

  /** Whether the line at file offset `offset` was checked and is plain (offsets asked in ascending order). */
  plain(offset: number): boolean {
    if (offset >= this.#checkedTo) return false;
    const notPlain = this.#notPlain;
    while (this.#next < notPlain.length && notPlain[this.#next]! < offset) this.#next++;
    return this.#next >= notPlain.length || notPlain[this.#next] !== offset;
  }
}

const BLOCK = 1 << 20;
/** Lines not plain noted at most (8 bytes each): past them, the splice checks the rest itself. */
export const MAX_NOT_PLAIN = 1 << 16;
