// The entries the sort hands out: a type file of its own, which both the sorter and its run merge import (no circle between them).

export type SortKey = string | number;

/** One entry of the sorted sequence: its key and a view of its payload bytes, valid until the next entry is asked for. */
export interface SortedEntry {
  key: SortKey;
  buf: Buffer;
  start: number;
  end: number;
}
