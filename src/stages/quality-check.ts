import type { Stage } from '../types.js';
import { QualityChecker, type MergedRecord, type QualityCheckOptions, type QualityRow } from '../core/quality/quality-checker.js';

/**
 * Stage: merged rows (`MergedRecord`) → `QualityRow`s with their flags: `missing` (null
 * explanation, with the failure the record carries), `too_short` / `too_long` (words outside
 * [minWords, maxWords]), `wrong_language` (under half the letters in the prompt's script),
 * `mentions_reclassification` (a phrase of `core/quality/reclassification.ts`), `not_plain_text` (JSON
 * or a code fence), `duplicate_text` (the same normalised text as an earlier row; the first row
 * of a group is named in `duplicate` when the second appears).
 *
 * Memory: one row, plus the duplicate table (at most `duplicateMemory` bytes, resident only as
 * filled). Never fails on a row: any line yields a row (`missing` when it holds no explanation).
 * Bad options throw at construction (E_OPTION).
 */
export function qualityCheck(options: QualityCheckOptions = {}): Stage<MergedRecord, QualityRow> & { readonly checker: QualityChecker } {
  const checker = new QualityChecker(options);
  const stage = async function* qualityCheckStage(source: AsyncIterable<MergedRecord>) {
    for await (const record of source) yield checker.check(record);
  };
  return Object.assign(stage, { checker });
}
