import { DatasetSplicer, type MergedRow, type MergeIntoDatasetOptions, type SpliceOutcome } from '../../core/join/dataset-splicer.js';
import { ChunkRowSink, OutcomeChoice, outcomeAt } from '../../core/join/join-steps.js';
import { EntryBatchCursor, type EntryBatch } from '../../core/sort/entry-batch.js';
import type { Stage } from '../../types.js';

export interface SpliceIntoDatasetOptions extends MergeIntoDatasetOptions {
  /** Told of each row, in order: undefined when it got its explanation, else why not (the errors file's entry). */
  onRow?: (missing: MergedRow['missing']) => void;
  /** Bytes per chunk handed on. Default 256 KiB. */
  chunkBytes?: number;
}

/**
 * Stage: outcomes keyed by dataset line, sorted (payloads of core/results/result-resolver.ts: an
 * explanation's JSON literal, `!` and a failure, or `*<order>\t` and either when a row has
 * several) → the merged dataset's bytes, in chunks: the byte form of {@link mergeIntoDataset},
 * which the merge ends with. Each row keeps every byte of its line and gets the explanation
 * spliced in; a row with no outcome comes out with `null` and its reason, a line that is not a
 * JSON object is left out (JSONL stays JSONL) and reported to `onRow`. Of several outcomes, a
 * success is kept, then the newest. Chunks are valid until the next is asked for. Holds one line
 * and one chunk.
 */
export function spliceIntoDataset(options: SpliceIntoDatasetOptions): Stage<EntryBatch, Buffer> {
  return async function* spliceIntoDatasetStage(outcomes, { signal } = {}) {
    const splicer = new DatasetSplicer(options);
    const sink = new ChunkRowSink(options.onRow ?? (() => {}), options.chunkBytes ?? 256 << 10);
    const cursor = new EntryBatchCursor(outcomes);
    const view = { json: EMPTY, start: 0, end: 0 };
    const choice = new OutcomeChoice();
    try {
      for (await cursor.load(); !cursor.done; ) {
        const line = cursor.entry.key as number;
        const { buf, start, end } = cursor.entry;
        let outcome: SpliceOutcome;
        if (!OutcomeChoice.isCandidate(buf, start)) {
          // A view into the cursor's batch: written before the cursor moves on.
          outcome = outcomeAt(buf, start, end, view);
          while (!splicer.writeUpTo(line, outcome, sink)) {
            yield sink.take();
            signal?.throwIfAborted();
          }
          if (!cursor.step()) await cursor.load();
          continue;
        }
        while (!cursor.done && cursor.entry.key === line) {
          choice.add(cursor.entry.buf, cursor.entry.start, cursor.entry.end);
          if (!cursor.step()) await cursor.load();
        }
        outcome = choice.take();
        while (!splicer.writeUpTo(line, outcome, sink)) yield sink.take();
      }
      while (!splicer.writeRest(sink)) yield sink.take();
      if (!sink.empty) yield sink.take();
    } finally {
      splicer.close();
      await cursor.close();
    }
  };
}

const EMPTY = Buffer.alloc(0);
