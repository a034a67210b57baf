import { optionError } from '../../errors.js';
import { FLAGS, FLAG_BIT, type ExpectedScript, type Flag } from '../../core/quality/quality.js';
import { NOT_RESUBMITTED } from '../../core/join/reasons.js';
import type { ReportSummary } from '../../core/quality/report-tally.js';
import type { QualityCheckOptions } from '../../core/quality/quality-checker.js';
import { FlaggedIdsWriter, type FlaggedSummary } from './report-flagged.js';
import { scanMerged } from './report-scan.js';

export interface ReportOptions extends QualityCheckOptions {
  /** The merged file (merge's output). */
  input: string;
  /** merge's errors file: the reasons of rows without an explanation. Without it they count as `unknown`. */
  errors?: string;
  /** Where to write the ids of flagged rows (`{"id", "flags"}` lines, for `resubmit --ids`). */
  flagged?: string;
  /** Flags that put a row in `flagged`. Default: every flag. */
  flaggedFlags?: readonly Flag[];
  signal?: AbortSignal;
}

export interface ReportResult extends ReportSummary {
  input: string;
  errors: string | null;
  field: string;
  checks: { minWords: number; maxWords: number; script: ExpectedScript | null };
  /** The ids file, when asked for. */
  flagged: FlaggedSummary | null;
  /** Bytes of the merged file. */
  bytes: number;
}

/**
 * `batch-explain report`: one streaming pass over a merged file (the errors file read alongside)
 * → counts by reason, flag and label, word-count figures and histogram, the most repeated
 * explanations; optionally the ids of flagged rows for `resubmit --ids`. Rows without an
 * explanation whose reason another try cannot fix (not_sent, duplicate_id, pending) are left out
 * of that file, and counted. Memory: see `scanMerged`; the ids file is written as it goes.
 */
export async function report(options: ReportOptions): Promise<ReportResult> {
  const { flagged: flaggedPath, flaggedFlags, ...scanOptions } = options;
  let mask = 0;
  for (const f of flaggedFlags ?? FLAGS) {
    if (!(FLAGS as readonly string[]).includes(f)) throw optionError('flaggedFlags', f, `one of ${FLAGS.join(', ')}`);
    mask |= FLAG_BIT[f];
  }
  const field = options.field ?? 'generated_explanation';
  const writer = flaggedPath ? new FlaggedIdsWriter(flaggedPath, { mask, leftOutReasons: NOT_RESUBMITTED, field }) : null;
  try {
    const scan = await scanMerged({ ...scanOptions, ...(writer ? { onRow: (row, offset) => writer.add(row, offset) } : {}) });
    const flagged = writer ? writer.finish(options.input) : null;
    const { minWords, maxWords, script } = scan.checker.options;
    return { input: options.input, errors: options.errors ?? null, field, checks: { minWords, maxWords, script }, ...scan.summary, flagged, bytes: scan.bytes };
  } catch (err) {
    writer?.abandon();
    throw err;
  }
}
