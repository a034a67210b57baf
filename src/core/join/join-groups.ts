// The merge join's loop, written once for its three drivers: objects from async iterables (stages/reverse/merge-join.ts), objects from sync ones (mergeJoinSync), and batches of entries (stages/reverse/merge-join-entries.ts).

/** Keys compare as `<` does: strings by UTF-16 code units, numbers by value. */
export type JoinKey = string | number;

/**
 * One side of a merge join, read entry by entry. The loop asks it to move on with `step`, which
 * answers false when the next entry must be awaited: then the driver awaits `load` (a side over
 * batches awaits once per batch, a side over objects once per object).
 */
export interface JoinSide<K extends JoinKey> {
  /** Past the last entry. */
  readonly done: boolean;
  /** The current entry's key (read only when not `done`). */
  readonly key: K;
  /** Moves to the next entry if it is at hand; false if it must be loaded first. */
  step(): boolean;
  /** Adds the current entry to this side's group (copying what will not last). */
  collect(): void;
}

export const NEED_LEFT = Symbol('need left');
export const NEED_RIGHT = Symbol('need right');

/**
 * The join as a coroutine: yields which side must load its next entry (the driver loads it and
 * resumes), or a key whose group is complete on both sides (each side has collected its entries
 * with that key: none, one or several; the driver joins them and clears the groups). Starts by
 * asking for both sides' first entries. Fails if a side goes back in key order.
 */
export function* joinGroups<K extends JoinKey>(left: JoinSide<K>, right: JoinSide<K>): Generator<typeof NEED_LEFT | typeof NEED_RIGHT | K, void, undefined> {
  yield NEED_LEFT;
  yield NEED_RIGHT;
  let last: K | undefined;
  while (!left.done || !right.done) {
    const fromLeft = !left.done && (right.done || left.key <= right.key);
    const key = fromLeft ? left.key : right.key;
    if (last !== undefined && key <= last) throw new Error(`merge join: the ${fromLeft ? 'left' : 'right'} side is not sorted (${JSON.stringify(key)} after ${JSON.stringify(last)})`);
    last = key;
    while (!left.done && left.key === key) {
      left.collect();
      if (!left.step()) yield NEED_LEFT;
    }
    while (!right.done && right.key === key) {
      right.collect();
      if (!right.step()) yield NEED_RIGHT;
    }
    yield key;
  }
}
