import { FLAGS, FLAG_BIT, type Flag } from './quality.js';
import type { DuplicateTable } from './duplicate-table.js';
import type { QualityRow } from './quality-checker.js';

/** Labels counted one by one; the rest are summed as {@link OTHER_LABELS} (a file of one label a row stays small). */
export const MAX_LABELS = 1000;
export const OTHER_LABELS = '(other labels)';
/** Width of the word-count histogram's bins, and where its last (open) bin starts. */
export const HISTOGRAM_BIN = 10;
export const HISTOGRAM_TOP = 250;
/** Repeated explanations listed. */
export const TOP_REPEATED = 10;
/** Characters of a repeated explanation shown. */
const SNIPPET = 200;

export interface LabelSummary {
  label: string;
  rows: number;
  explained: number;
  /** Median words of its explained rows (null when none). */
  medianWords: number | null;
}

export interface ReportSummary {
  rows: number;
  explained: number;
  missing: number;
  /** Rows without an explanation by merge's reason (`unknown` without an errors file). */
  byReason: Record<string, number>;
  /** Rows with each flag (a row can have several). */
  byFlag: Record<Flag, number>;
  /** Rows with at least one flag. */
  flaggedRows: number;
  byLabel: LabelSummary[];
  /** Words of the explained rows. */
  words: { min: number | null; median: number | null; mean: number | null; max: number | null };
  /** Explained rows by word count, bins of 10 words, the last one open (`to` null). */
  wordHistogram: Array<{ from: number; to: number | null; rows: number }>;
  /** The explanations given to most rows (at least two), with the first row that had each. */
  topRepeated: Array<{ count: number; text: string; firstId: string | null }>;
  duplicates: { groups: number; rows: number; distinctTracked: number; untrackedRows: number };
}

interface LabelStats {
  rows: number;
  explained: number;
  words: Map<number, number>;
}

/** The first row of a repeated text, read back by the caller from its reference. */
export type FirstRowReader = (ref: number) => { id: string | null; explanation: string | null };

/**
 * Tallies checked rows into a report: counts by reason, flag and label, medians from exact
 * word-count histograms (one map entry per distinct count). Memory: at most {@link MAX_LABELS}
 * labels with their word-count maps; no row is kept.
 */
export class ReportTally {
  private rows = 0;
  private explained = 0;
  private flagged = 0;
  private readonly reasons = new Map<string, number>();
  private readonly flags = new Map<Flag, number>(FLAGS.map((f) => [f, 0]));
  private readonly labels = new Map<string, LabelStats>();
  private readonly words = new Map<number, number>();

  add(row: QualityRow): void {
    this.rows++;
    if (row.flags) this.flagged++;
    for (const f of FLAGS) if (row.flags & FLAG_BIT[f]) this.flags.set(f, this.flags.get(f)! + 1);
    // The first row of a text seen twice: flagged now (and counted as flagged if it was clean).
    if (row.duplicate?.count === 2) {
      this.flags.set('duplicate_text', this.flags.get('duplicate_text')! + 1);
      if (row.duplicate.firstFlags === 0) this.flagged++;
    }
    let stats = this.labels.get(row.label);
    if (!stats) {
      const key = this.labels.size < MAX_LABELS ? row.label : OTHER_LABELS;
      stats = this.labels.get(key) ?? { rows: 0, explained: 0, words: new Map() };
      this.labels.set(key, stats);
    }
    stats.rows++;
    if (row.explanation === null) {
      const reason = row.failure?.reason ?? 'unknown';
      this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
      return;
    }
    this.explained++;
    stats.explained++;
    stats.words.set(row.words, (stats.words.get(row.words) ?? 0) + 1);
    this.words.set(row.words, (this.words.get(row.words) ?? 0) + 1);
  }

  finish(duplicates: DuplicateTable, readFirst: FirstRowReader): ReportSummary {
    const byLabel = [...this.labels].map(([label, s]) => ({ label, rows: s.rows, explained: s.explained, medianWords: median(s.words) }));
    byLabel.sort((a, b) => Number(a.label === OTHER_LABELS) - Number(b.label === OTHER_LABELS) || b.rows - a.rows || a.label.localeCompare(b.label));
    const counts = [...this.words.keys()];
    let sum = 0;
    for (const [w, n] of this.words) sum += w * n;
    const bins = HISTOGRAM_TOP / HISTOGRAM_BIN + 1;
    const wordHistogram = Array.from({ length: bins }, (_, i) => ({ from: i * HISTOGRAM_BIN, to: i === bins - 1 ? null : i * HISTOGRAM_BIN + HISTOGRAM_BIN - 1, rows: 0 }));
    for (const [w, n] of this.words) wordHistogram[Math.min(bins - 1, Math.floor(w / HISTOGRAM_BIN))]!.rows += n;
    const topRepeated = duplicates.top(TOP_REPEATED).map((entry) => {
      const first = readFirst(duplicates.firstRef(entry));
      const text = first.explanation ?? '';
      return { count: duplicates.count(entry), text: text.length > SNIPPET ? `${text.slice(0, SNIPPET)}…` : text, firstId: first.id };
    });
    const dup = duplicates.duplicateStats();
    return {
      rows: this.rows,
      explained: this.explained,
      missing: this.rows - this.explained,
      byReason: Object.fromEntries([...this.reasons].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
      byFlag: Object.fromEntries(this.flags) as Record<Flag, number>,
      flaggedRows: this.flagged,
      byLabel,
      words: {
        min: counts.length ? Math.min(...counts) : null,
        median: median(this.words),
        mean: this.explained ? Math.round((sum / this.explained) * 10) / 10 : null,
        max: counts.length ? Math.max(...counts) : null,
      },
      wordHistogram,
      topRepeated,
      duplicates: { groups: dup.groups, rows: dup.rows, distinctTracked: duplicates.distinct, untrackedRows: duplicates.untracked },
    };
  }
}

/** The median of a histogram (value → rows): the lower middle value for an even count. */
export function median(histogram: Map<number, number>): number | null {
  let total = 0;
  for (const n of histogram.values()) total += n;
  if (total === 0) return null;
  const target = Math.ceil(total / 2);
  let seen = 0;
  for (const value of [...histogram.keys()].sort((a, b) => a - b)) {
    seen += histogram.get(value)!;
    if (seen >= target) return value;
  }
  return null;
}
