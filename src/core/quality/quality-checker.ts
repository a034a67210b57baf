// The quality checks of one merged row (report, view, the qualityCheck stage): no streams, one
// row at a time, with the duplicate table.
import { optionError } from '../../errors.js';
import { nonEmptyString } from '../flow/options.js';
import { DEFAULT_DUPLICATE_MEMORY, DuplicateTable } from './duplicate-table.js';
import { datasetKey } from '../join/join-keys.js';
import { FLAG_BIT, QUALITY_DEFAULTS, checkExplanation, duplicateHash, type ExpectedScript } from './quality.js';
import { rowFields } from '../dataset/row-view.js';
import type { FieldMapping } from '../dataset/mapping.js';

/** Why a row has no explanation, as merge's errors file says (`{line, id, reason, code?, message}`). */
export interface RowFailure {
  reason: string;
  code?: string;
  message?: string;
  /** The row's line in the dataset (the merged file has no blank lines, so it may differ). */
  datasetLine?: number;
  /** Byte offset of its line in the errors file. */
  errorsOffset?: number;
}

/** A line of a merged file, parsed. */
export interface MergedRecord {
  /** 1-based line in the merged file. */
  line: number;
  /** The caller's number for this row (a byte offset, a row index): how a duplicate names its first row. */
  ref: number;
  /** The parsed line: a row object, or anything merge copied unchanged (`undefined` for a line that is not JSON). */
  value: unknown;
  /** Why it has no explanation, when known (from merge's errors file). */
  failure?: RowFailure;
}

/** A row with its checks done. */
export interface QualityRow {
  line: number;
  ref: number;
  /** `id` as a string (a number id turned into its string); null when the row has none. */
  id: string | null;
  /** `class_label`, an array joined with ", "; `(none)` when missing. */
  label: string;
  /** The explanation, or null (`missing`). */
  explanation: string | null;
  /** Words of the explanation (0 when missing). */
  words: number;
  /** Mask of `FLAG_BIT`s. */
  flags: number;
  failure?: RowFailure;
  /**
   * Set when an earlier row had the same text: how many rows had it so far (this one included)
   * and the first row. At `count` 2 the first row becomes a duplicate as well: the caller flags it.
   */
  duplicate?: { count: number; firstRef: number; firstFlags: number };
}

export interface QualityCheckOptions {
  /** The merged field holding the explanation. Default `generated_explanation`. */
  field?: string;
  /** Where the rows keep their id and label (the job's mapping: Hateful Memes' `label` 0/1...). Default `id`, `class_label`. */
  mapping?: FieldMapping;
  /** Fewer words is `too_short`. Default 40 (the shipped prompts ask for ~100). */
  minWords?: number;
  /** More words is `too_long`. Default 160. */
  maxWords?: number;
  /** The prompt's script, for `wrong_language`; null (default) skips that check. */
  script?: ExpectedScript | null;
  /** Memory of the duplicate table, bytes. Default 64 MiB (~1.5 million distinct explanations). */
  duplicateMemory?: number;
}

const DEFAULTS = {
  field: 'generated_explanation',
  minWords: QUALITY_DEFAULTS.minWords,
  maxWords: QUALITY_DEFAULTS.maxWords,
  script: null as ExpectedScript | null,
  duplicateMemory: DEFAULT_DUPLICATE_MEMORY,
};

const NO_LABEL = '(none)';

/**
 * The synchronous core of {@link qualityCheck}: one row at a time, for callers that read lines
 * themselves (`report`, the viewer's index). Holds the duplicate table.
 */
export class QualityChecker {
  readonly options: Readonly<typeof DEFAULTS & { mapping?: FieldMapping }>;
  readonly duplicates: DuplicateTable;

  constructor(options: QualityCheckOptions = {}) {
    const o = { ...DEFAULTS, ...options };
    nonEmptyString('field', o.field);
    if (!Number.isSafeInteger(o.minWords) || o.minWords < 0) throw optionError('minWords', o.minWords, 'an integer ≥ 0');
    if (!Number.isSafeInteger(o.maxWords) || o.maxWords < o.minWords) throw optionError('maxWords', o.maxWords, `an integer ≥ minWords (${o.minWords})`);
    if (o.script !== null && o.script !== 'arabic' && o.script !== 'latin') throw optionError('script', o.script, 'arabic, latin or null');
    this.options = o;
    this.duplicates = new DuplicateTable(o.duplicateMemory);
  }

  check(record: MergedRecord): QualityRow {
    const o = this.options;
    const value = record.value;
    const row = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
    const fields = row && o.mapping ? rowFields(row, o.mapping) : null;
    const id = fields ? fields.id : datasetKey(row);
    const label = fields ? fields.label : row ? labelOf(row.class_label) : NO_LABEL;
    const explanation = typeof row?.[o.field] === 'string' ? (row[o.field] as string) : null;
    const out: QualityRow = { line: record.line, ref: record.ref, id, label, explanation, words: 0, flags: 0 };
    if (record.failure) out.failure = record.failure;
    if (explanation === null) {
      out.flags = FLAG_BIT.missing;
      return out;
    }
    const checked = checkExplanation(explanation, label, o);
    out.words = checked.words;
    out.flags = checked.flags;
    const table = this.duplicates;
    const count = table.add(duplicateHash(explanation), record.ref, checked.flags);
    if (count >= 2) {
      out.flags |= FLAG_BIT.duplicate_text;
      out.duplicate = { count, firstRef: table.firstRef(table.lastEntry), firstFlags: table.firstFlags(table.lastEntry) };
    }
    return out;
  }
}

/** `class_label` as one string: an array of strings joined with ", " (as `validateRow`). */
export function labelOf(value: unknown): string {
  if (typeof value === 'string') return value.trim() === '' ? NO_LABEL : value;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) return value.join(', ');
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return NO_LABEL;
}
