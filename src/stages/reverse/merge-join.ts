import type { Stage } from '../../types.js';

/** Keys compare as `<` does: strings by UTF-16 code units, numbers by value. */
export type JoinKey = string | number;

export interface MergeJoinOptions<L, R, O, K extends JoinKey = string> {
  /** The right side, sorted by the same key. */
  right: AsyncIterable<R>;
  leftKey: (item: L) => K;
  rightKey: (item: R) => K;
  /**
   * Joins one key's group: every left item with that key (several when the left side repeats
   * it) and every right item (none, one, or several). Returns what to emit. Called for keys on
   * the right only, too, with no left items: there the return value is ignored.
   */
  join: (key: K, lefts: L[], rights: R[]) => O[];
  /** Told of each key repeated on a side, and of right keys with no left match. */
  onGroup?: (event: { key: K; lefts: number; rights: number }) => void;
}

/**
 * Stage: a left stream sorted by key → joined items, merging with a right stream sorted by the
 * same key. Keys compare by UTF-16 code units (as `<`), the order `externalSort` gives. Repeated
 * keys are passed to `join` as groups, never collapsed silently; right-only keys are reported.
 * Holds one key's group from each side. Fails if either side is out of order.
 */
export function mergeJoin<L, R, O, K extends JoinKey = string>(options: MergeJoinOptions<L, R, O, K>): Stage<L, O> {
  return async function* mergeJoinStage(leftSource) {
    const left = leftSource[Symbol.asyncIterator]();
    const right = options.right[Symbol.asyncIterator]();
    try {
      const steps = joinSteps<L, R, O, K>(options);
      for (let step = steps.next(); !step.done; ) {
        const s = step.value;
        if (s === NEED_LEFT) step = steps.next(await left.next());
        else if (s === NEED_RIGHT) step = steps.next(await right.next());
        else {
          yield* s as O[];
          step = steps.next();
        }
      }
    } finally {
      await Promise.all([left.return?.(), right.return?.()]);
    }
  };
}

/** The same join over synchronous sides (sorted runs read from disk), with no promise per item. */
export function* mergeJoinSync<L, R, O, K extends JoinKey = string>(left: Iterable<L>, right: Iterable<R>, options: Omit<MergeJoinOptions<L, R, O, K>, 'right'>): Generator<O> {
  const l = left[Symbol.iterator]();
  const r = right[Symbol.iterator]();
  try {
    const steps = joinSteps<L, R, O, K>(options);
    for (let step = steps.next(); !step.done; ) {
      const s = step.value;
      if (s === NEED_LEFT) step = steps.next(l.next());
      else if (s === NEED_RIGHT) step = steps.next(r.next());
      else {
        yield* s as O[];
        step = steps.next();
      }
    }
  } finally {
    l.return?.();
    r.return?.();
  }
}

const NEED_LEFT = Symbol('left');
const NEED_RIGHT = Symbol('right');
type Step<O> = typeof NEED_LEFT | typeof NEED_RIGHT | O[];

/**
 * The join, written once for both drivers as a coroutine: it yields which side it needs next
 * (and is resumed with that side's next result) or what to emit.
 */
function* joinSteps<L, R, O, K extends JoinKey>(options: Omit<MergeJoinOptions<L, R, O, K>, 'right'>): Generator<Step<O>, void, IteratorResult<unknown> | undefined> {
  let l = (yield NEED_LEFT) as IteratorResult<L>;
  let r = (yield NEED_RIGHT) as IteratorResult<R>;
  let lastKey: K | undefined;
  while (!l.done || !r.done) {
    const lk = l.done ? undefined : options.leftKey(l.value);
    const rk = r.done ? undefined : options.rightKey(r.value);
    const key = lk === undefined ? rk! : rk === undefined ? lk : lk < rk ? lk : rk;
    if (lastKey !== undefined && key < lastKey) throw new Error(`mergeJoin: the ${lk === key ? 'left' : 'right'} side is not sorted (${JSON.stringify(key)} after ${JSON.stringify(lastKey)})`);
    lastKey = key;
    const lefts: L[] = [];
    while (!l.done && options.leftKey(l.value) === key) {
      lefts.push(l.value);
      l = (yield NEED_LEFT) as IteratorResult<L>;
    }
    const rights: R[] = [];
    while (!r.done && options.rightKey(r.value) === key) {
      rights.push(r.value);
      r = (yield NEED_RIGHT) as IteratorResult<R>;
    }
    if (lefts.length > 1 || rights.length > 1 || lefts.length === 0) options.onGroup?.({ key, lefts: lefts.length, rights: rights.length });
    const out = options.join(key, lefts, rights);
    if (lefts.length > 0 && out.length > 0) yield out;
  }
}
