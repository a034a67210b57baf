import { joinGroups, NEED_LEFT, NEED_RIGHT, type JoinKey, type JoinSide } from '../../core/join/join-groups.js';
import type { Stage } from '../../types.js';

export type { JoinKey } from '../../core/join/join-groups.js';

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
 * Holds one key's group from each side. Fails if either side is out of order. The loop is the
 * one {@link mergeJoinEntries} runs over batches of entries (core/join/join-groups.ts).
 */
export function mergeJoin<L, R, O, K extends JoinKey = string>(options: MergeJoinOptions<L, R, O, K>): Stage<L, O> {
  return async function* mergeJoinStage(leftSource) {
    const left = new ItemSide(leftSource[Symbol.asyncIterator](), options.leftKey);
    const right = new ItemSide(options.right[Symbol.asyncIterator](), options.rightKey);
    try {
      const steps = joinGroups(left, right);
      for (let step = steps.next(); !step.done; step = steps.next()) {
        const s = step.value;
        if (s === NEED_LEFT) await left.load();
        else if (s === NEED_RIGHT) await right.load();
        else yield* joinOne(s, left, right, options);
      }
    } finally {
      await Promise.all([left.items.return?.(), right.items.return?.()]);
    }
  };
}

/** The same join over synchronous sides (in-memory lists, sorted runs read from disk), with no promise per item. */
export function* mergeJoinSync<L, R, O, K extends JoinKey = string>(left: Iterable<L>, right: Iterable<R>, options: Omit<MergeJoinOptions<L, R, O, K>, 'right'>): Generator<O> {
  const l = new ItemSide(left[Symbol.iterator](), options.leftKey);
  const r = new ItemSide(right[Symbol.iterator](), options.rightKey);
  try {
    const steps = joinGroups(l, r);
    for (let step = steps.next(); !step.done; step = steps.next()) {
      const s = step.value;
      if (s === NEED_LEFT) l.loadSync();
      else if (s === NEED_RIGHT) r.loadSync();
      else yield* joinOne(s, l, r, options);
    }
  } finally {
    l.items.return?.();
    r.items.return?.();
  }
}

/** One key's group joined, the groups cleared. */
function joinOne<L, R, O, K extends JoinKey>(key: K, left: ItemSide<L, K>, right: ItemSide<R, K>, options: Omit<MergeJoinOptions<L, R, O, K>, 'right'>): O[] {
  const lefts = left.group;
  const rights = right.group;
  left.group = [];
  right.group = [];
  if (lefts.length > 1 || rights.length > 1 || lefts.length === 0) options.onGroup?.({ key, lefts: lefts.length, rights: rights.length });
  const out = options.join(key, lefts, rights);
  return lefts.length > 0 ? out : [];
}

/** A side of objects: every next item is loaded (awaited, for an async iterator). */
class ItemSide<T, K extends JoinKey> implements JoinSide<K> {
  done = false;
  key!: K;
  group: T[] = [];
  #item!: T;
  readonly items: Iterator<T> | AsyncIterator<T>;
  readonly #keyOf: (item: T) => K;

  constructor(items: Iterator<T> | AsyncIterator<T>, keyOf: (item: T) => K) {
    this.items = items;
    this.#keyOf = keyOf;
  }

  step(): boolean {
    return false;
  }

  collect(): void {
    this.group.push(this.#item);
  }

  async load(): Promise<void> {
    this.#take(await (this.items as AsyncIterator<T>).next());
  }

  loadSync(): void {
    this.#take((this.items as Iterator<T>).next());
  }

  #take(next: IteratorResult<T>): void {
    if (next.done) this.done = true;
    else {
      this.#item = next.value;
      this.key = this.#keyOf(next.value);
    }
  }
}
