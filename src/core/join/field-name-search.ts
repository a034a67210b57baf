import type { LineView } from '../io/sync-lines.js';

/**
 * Whether a line names the merge's field (its bytes hold the name: the field may be there already,
 * from a merge before), for lines read in order by {@link bufferLines}: the name is looked for once
 * per block read, past the line only once the lines are past the place it was last found.
 */
export class FieldNameSearch {
  readonly #name: Buffer;
  /** Where the name occurs first in the file at or after `#from`, as far as the bytes read reach (`#to`): Infinity if nowhere. */
  #at = Infinity;
  #from = 0;
  #to = -1;

  constructor(field: string) {
    this.#name = Buffer.from(field);
  }

  /** Whether the name occurs in the line `v` (from `start`, past a byte order mark). */
  inLine(v: LineView, start: number): boolean {
    const from = v.offset + (start - v.start);
    const to = v.offset + (v.end - v.start);
    if (from < this.#from || this.#at < from || (this.#at === Infinity && to > this.#to)) {
      // Up to the bytes read: those past `filled` are an earlier read's.
      const at = v.buf.indexOf(this.#name, start);
      this.#from = from;
      this.#to = v.offset + (v.filled - v.start);
      this.#at = at !== -1 && at + this.#name.length <= v.filled ? v.offset + (at - v.start) : Infinity;
    }
    return this.#at + this.#name.length <= to;
  }
}
