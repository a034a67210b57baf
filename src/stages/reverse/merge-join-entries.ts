import { EntryBatch, EntryBatchCursor } from '../../core/sort/entry-batch.js';
import { EntryGroup } from '../../core/sort/entry-group.js';
import { joinGroups, NEED_LEFT, NEED_RIGHT, type JoinSide } from '../../core/join/join-groups.js';
import type { Stage } from '../../types.js';

export { EntryBatch } from '../../core/sort/entry-batch.js';
export { EntryGroup } from '../../core/sort/entry-group.js';

export interface MergeJoinEntriesOptions {
  /** The right side: batches of entries sorted by the same key. */
  right: AsyncIterable<EntryBatch>;
  /**
   * Joins one key's group: the left entries with that key and the right ones (either side may
   * have none, or several; views valid during the call); adds what it makes of them to `out`.
   */
  join: (key: number, lefts: EntryGroup, rights: EntryGroup, out: EntryBatch) => void;
  /** Payload bytes per batch handed on. Default 64 KiB. */
  batchBytes?: number;
}

/**
 * Stage: entries sorted by key (the left side) → what `join` adds for each key, merging with
 * the right side's entries sorted by the same key. The byte form of {@link mergeJoin}, for
 * pipelines that move millions of entries a batch at a time: the merge joins the dataset's ids
 * with the results' this way. Holds one key's group from each side. Fails if either side is out
 * of order.
 */
export function mergeJoinEntries(options: MergeJoinEntriesOptions): Stage<EntryBatch, EntryBatch> {
  return async function* mergeJoinEntriesStage(leftSource, { signal } = {}) {
    const left = new BatchSide(leftSource);
    const right = new BatchSide(options.right);
    const out = new EntryBatch(options.batchBytes ? { bytes: options.batchBytes } : {});
    try {
      const steps = joinGroups(left, right);
      for (let step = steps.next(); !step.done; step = steps.next()) {
        const s = step.value;
        // A group's entry may be a view of the batch the side is leaving.
        if (s === NEED_LEFT) await left.load();
        else if (s === NEED_RIGHT) await right.load();
        else {
          options.join(s, left.group, right.group, out);
          left.group.clear();
          right.group.clear();
          if (out.full) {
            yield out;
            out.clear();
            signal?.throwIfAborted();
          }
        }
      }
      if (!out.empty) yield out;
    } finally {
      await Promise.all([left.cursor.close(), right.cursor.close()]);
    }
  };
}

/** A side of batches: entries are stepped through within a batch, and loaded a batch at a time. */
class BatchSide implements JoinSide<number> {
  readonly cursor: EntryBatchCursor;
  readonly group = new EntryGroup();

  constructor(batches: AsyncIterable<EntryBatch>) {
    this.cursor = new EntryBatchCursor(batches);
  }

  get done(): boolean {
    return this.cursor.done;
  }

  get key(): number {
    return this.cursor.entry.key as number;
  }

  step(): boolean {
    return this.cursor.step();
  }

  /** The next batch, once the group has kept what it holds of this one. */
  async load(): Promise<void> {
    this.group.keep();
    await this.cursor.load();
  }

  collect(): void {
    this.group.add(this.cursor.entry);
  }
}
