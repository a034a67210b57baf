import { DatasetSplicer, type MergedRow, type MergeIntoDatasetOptions } from '../../core/join/dataset-splicer.js';
import type { Stage } from '../../types.js';

export { DatasetSplicer, type MergedRow, type MissingRow, type MergeIntoDatasetOptions, type RowSink, type SpliceOutcome } from '../../core/join/dataset-splicer.js';

/** The outcome for one dataset row, from the join: its explanation, or why there is none. */
export interface RowOutcome {
  line: number;
  id: string;
  explanation: string | null;
  /** The explanation already as a JSON string literal (saves a parse and a stringify per row). */
  explanationJson?: string;
  /** Why there is no explanation. */
  reason?: string;
  code?: string;
  message?: string;
}

/**
 * Stage: row outcomes sorted by line → the dataset's rows in their own order, each with the
 * explanation field added and every other byte of the line kept: the field is spliced in before
 * the closing brace of the line's bytes (or its value replaced, when the line has it already).
 * Every non-blank line comes out exactly once: a row with no outcome (it had no usable id) comes
 * out with `null` and a reason, the build's reject for that line when known. A line that is not a
 * JSON object (not JSON, not UTF-8, or JSON of another kind) comes out `dropped`, with reason
 * `not_json` and its text, so that the output is JSONL that any reader takes. Holds one line.
 */
export function mergeIntoDataset(options: MergeIntoDatasetOptions): Stage<RowOutcome, MergedRow> {
  return async function* mergeIntoDatasetStage(outcomes) {
    const splicer = new DatasetSplicer(options);
    try {
      for await (const o of outcomes) {
        const json = o.explanationJson ?? (o.explanation !== null ? JSON.stringify(o.explanation) : null);
        yield* splicer.upTo(o.line, json !== null ? { json: Buffer.from(json) } : { id: o.id, reason: o.reason ?? 'no_result', ...(o.code ? { code: o.code } : {}), ...(o.message ? { message: o.message } : {}) });
      }
      yield* splicer.rest();
    } finally {
      splicer.close();
    }
  };
}
