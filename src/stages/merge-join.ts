import type { Stage } from '../types.js';

export interface MergeJoinOptions<L, R, O> {
  /** The right side, sorted by the same key. */
  right: AsyncIterable<R>;
  leftKey: (item: L) => string;
  rightKey: (item: R) => string;
  /**
   * Joins one key's group: every left item with that key (several when the left side repeats
   * it) and every right item (none, one, or several). Returns what to emit. Called for keys on
   * the right only, too, with no left items: there the return value is ignored.
   */
  join: (key: string, lefts: L[], rights: R[]) => O[];
  /** Told of each key repeated on a side, and of right keys with no left match. */
  onGroup?: (event: { key: string; lefts: number; rights: number }) => void;
}

/**
 * Stage: a left stream sorted by key → joined items, merging with a right stream sorted by the
 * same key. Keys compare by UTF-16 code units (as `<`), the order `externalSort` gives. Repeated
 * keys are passed to `join` as groups, never collapsed silently; right-only keys are reported.
 * Holds one key's group from each side. Fails if either side is out of order.
 */
export function mergeJoin<L, R, O>(options: MergeJoinOptions<L, R, O>): Stage<L, O> {
  return async function* mergeJoinStage(leftSource) {
    const left = leftSource[Symbol.asyncIterator]();
    const right = options.right[Symbol.asyncIterator]();
    let l = await left.next();
    let r = await right.next();
    let lastKey: string | undefined;
    const ordered = (side: string, key: string) => {
      if (lastKey !== undefined && key < lastKey) throw new Error(`mergeJoin: the ${side} side is not sorted (${JSON.stringify(key)} after ${JSON.stringify(lastKey)})`);
    };
    try {
      while (!l.done || !r.done) {
        const lk = l.done ? undefined : options.leftKey(l.value);
        const rk = r.done ? undefined : options.rightKey(r.value);
        const key = lk === undefined ? rk! : rk === undefined ? lk : lk < rk ? lk : rk;
        ordered(lk === key ? 'left' : 'right', key);
        lastKey = key;
        const lefts: L[] = [];
        while (!l.done && options.leftKey(l.value) === key) {
          lefts.push(l.value);
          l = await left.next();
        }
        const rights: R[] = [];
        while (!r.done && options.rightKey(r.value) === key) {
          rights.push(r.value);
          r = await right.next();
        }
        if (lefts.length > 1 || rights.length > 1 || lefts.length === 0) options.onGroup?.({ key, lefts: lefts.length, rights: rights.length });
        if (lefts.length > 0) yield* options.join(key, lefts, rights);
        else options.join(key, lefts, rights);
      }
    } finally {
      await Promise.all([left.return?.(), right.return?.()]);
    }
  };
}
