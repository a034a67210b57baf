import { EntryGroup, RunLinesCursor, RunLinesWriter, type RunLines } from '../../core/sort/run-lines.js';
import { joinGroups, NEED_LEFT, NEED_RIGHT, type JoinSide } from '../../core/join/join-groups.js';
import type { Stage } from '../../types.js';

export { EntryGroup, RunLinesWriter, type RunLines } from '../../core/sort/run-lines.js';

export interface MergeJoinEntriesOptions {
  /** The right side: chunks of run lines sorted by the same key. */
  right: AsyncIterable<RunLines>;
  /**
   * Joins one key's group: the left entries with that key and the right ones (either side may
   * have none, or several), each copied out of its chunk; writes what it makes of them to `out`.
   */
  join: (key: number, lefts: EntryGroup, rights: EntryGroup, out: RunLinesWriter) => void;
  /** Bytes per chunk handed on. Default 64 KiB. */
  chunkBytes?: number;
}

/**
 * Stage: run lines sorted by key (the left side) → what `join` writes for each key, merging with
 * the right side's run lines sorted by the same key. The byte form of {@link mergeJoin}, for
 * pipelines that move millions of entries a chunk at a time: the merge joins the dataset's ids
 * with the results' this way. Holds one key's group from each side. Fails if either side is out
 * of order.
 */
export function mergeJoinEntries(options: MergeJoinEntriesOptions): Stage<RunLines, RunLines> {
  return async function* mergeJoinEntriesStage(leftSource, { signal } = {}) {
    const left = new ChunkSide(leftSource);
    const right = new ChunkSide(options.right);
    const out = new RunLinesWriter(options.chunkBytes);
    try {
      const steps = joinGroups(left, right);
      for (let step = steps.next(); !step.done; step = steps.next()) {
        const s = step.value;
        if (s === NEED_LEFT) await left.cursor.load();
        else if (s === NEED_RIGHT) await right.cursor.load();
        else {
          options.join(s, left.group, right.group, out);
          left.group.clear();
          right.group.clear();
          if (out.full) {
            yield out.take();
            signal?.throwIfAborted();
          }
        }
      }
      if (!out.empty) yield out.take();
    } finally {
      await Promise.all([left.cursor.close(), right.cursor.close()]);
    }
  };
}

/** A side of run lines: entries are stepped through within a chunk, and loaded a chunk at a time. */
class ChunkSide implements JoinSide<number> {
  readonly cursor: RunLinesCursor;
  readonly group = new EntryGroup();

  constructor(chunks: AsyncIterable<RunLines>) {
    this.cursor = new RunLinesCursor(chunks);
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

  collect(): void {
    this.group.add(this.cursor.entry);
  }
}
