import { fileLines } from '../core/file-lines.js';
import { setTopLevelField } from '../core/json-splice.js';
import type { Stage } from '../types.js';

/** The outcome for one dataset row, from the join: its explanation, or why there is none. */
export interface RowOutcome {
  line: number;
  id: string;
  explanation: string | null;
  /** Why `explanation` is null. */
  reason?: string;
  code?: string;
  message?: string;
}

/** A row of the merged dataset, and, when it has no explanation, its entry for the errors file. */
export interface MergedRow {
  line: number;
  /** The dataset's line with the field added (or unchanged, when the line is not a JSON object). */
  text: string;
  missing?: { line: number; id: string | null; reason: string; code?: string; message?: string };
}

export interface MergeIntoDatasetOptions {
  /** The dataset file (read again, line by line, in its order). */
  dataset: string;
  /** Default `generated_explanation`. */
  field?: string;
  /** The build's rejects sorted by line: why a row with no outcome never made a request. */
  rejects?: AsyncIterable<{ line: number; code: string; message: string }>;
}

/**
 * Stage: row outcomes sorted by line → the dataset's rows in their own order, each with the
 * explanation field added and every other byte of the line kept (`setTopLevelField`). Every
 * non-blank line of the dataset comes out exactly once: a row that never got an outcome (its line
 * was not JSON, or it had no usable id) comes out with `null` (or as it was, when it is not a JSON
 * object) and the reason, from the build's rejects when known. Holds one line.
 */
export function mergeIntoDataset(options: MergeIntoDatasetOptions): Stage<RowOutcome, MergedRow> {
  const field = options.field ?? 'generated_explanation';
  return async function* mergeIntoDatasetStage(outcomes) {
    const it = outcomes[Symbol.asyncIterator]();
    let next = await it.next();
    const rejects = options.rejects?.[Symbol.asyncIterator]();
    let rej = rejects ? await rejects.next() : undefined;
    const rejectFor = async (line: number) => {
      while (rej && !rej.done && rej.value.line < line) rej = await rejects!.next();
      return rej && !rej.done && rej.value.line === line ? rej.value : undefined;
    };
    try {
      for await (const { line, text: raw } of fileLines(options.dataset)) {
        const text = line === 1 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
        if (text.trim() === '') continue;
        while (!next.done && next.value.line < line) next = await it.next(); // cannot happen with a consistent join
        const outcome = !next.done && next.value.line === line ? next.value : undefined;
        if (outcome) next = await it.next();
        const isObject = outcome !== undefined || /^\s*\{/.test(text);
        let out = text;
        if (isObject) {
          try {
            out = setTopLevelField(text, field, JSON.stringify(outcome?.explanation ?? null));
          } catch {
            out = text; // not a valid object after all: kept as it was
          }
        }
        if (outcome?.explanation) {
          yield { line, text: out };
          continue;
        }
        // A row with no result at all may have been refused at build: that is its reason then.
        const noResult = !outcome || outcome.reason === 'no_result' || outcome.reason === 'pending';
        const reject = noResult ? await rejectFor(line) : undefined;
        const missing =
          outcome && !reject
            ? { line, id: outcome.id, reason: outcome.reason ?? 'no_result', ...(outcome.code ? { code: outcome.code } : {}), ...(outcome.message ? { message: outcome.message } : {}) }
            : {
                line,
                id: outcome?.id ?? idOf(text),
                reason: 'not_sent',
                ...(reject ? { code: reject.code, message: reject.message } : { message: 'the row could not become a request (no usable id, or not a JSON object)' }),
              };
        yield { line, text: out, missing };
      }
      if (!next.done) throw new Error(`merge: an outcome for line ${next.value.line} has no dataset line (was the dataset changed?)`);
    } finally {
      await Promise.all([it.return?.(), rejects?.return?.()]);
    }
  };
}

function idOf(text: string): string | null {
  try {
    const v = JSON.parse(text) as { id?: unknown };
    return typeof v?.id === 'string' || typeof v?.id === 'number' ? String(v.id) : null;
  } catch {
    return null;
  }
}
