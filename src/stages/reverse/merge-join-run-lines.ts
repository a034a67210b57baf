import { EntryGroup, RunLinesCursor, RunLinesWriter, type RunLines } from '../../core/sort/run-lines.js';
import type { Stage } from '../../types.js';

export { EntryGroup, RunLinesWriter, type RunLines } from '../../core/sort/run-lines.js';

export interface MergeJoinRunLinesOptions {
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
export function mergeJoinRunLines(options: MergeJoinRunLinesOptions): Stage<RunLines, RunLines> {
  return async function* mergeJoinRunLinesStage(leftSource, { signal } = {}) {
    const left = new RunLinesCursor(leftSource);
    const right = new RunLinesCursor(options.right);
    const lefts = new EntryGroup();
    const rights = new EntryGroup();
    const out = new RunLinesWriter(options.chunkBytes);
    try {
      await left.load();
      await right.load();
      while (!left.done || !right.done) {
        const key = Math.min(left.key, right.key);
        lefts.clear();
        rights.clear();
        while (left.key === key) {
          lefts.add(left.entry);
          if (!left.step()) await left.load();
        }
        while (right.key === key) {
          rights.add(right.entry);
          if (!right.step()) await right.load();
        }
        // Each side's next entry comes after this key, unless that side is out of order.
        if (left.key < key || right.key < key) throw new Error(`mergeJoinRunLines: the ${left.key < key ? 'left' : 'right'} side is not sorted (${Math.min(left.key, right.key)} after ${key})`);
        options.join(key, lefts, rights, out);
        if (out.full) {
          yield out.take();
          signal?.throwIfAborted();
        }
      }
      if (!out.empty) yield out.take();
    } finally {
      await Promise.all([left.close(), right.close()]);
    }
  };
}
