import { FLAG_BIT } from '../core/quality/quality.js';
import type { QualityRow } from '../core/quality/quality-checker.js';

/** Distinct labels and reasons indexed one by one; the rest share the last name. */
export const MAX_INDEX_LABELS = 65_535;
export const MAX_INDEX_REASONS = 255;
const OTHER = '(other)';

/** What a page of rows is narrowed to. `flag`: a flag's bit, or `any` (some flag) / `none` (no flag). */
export interface RowFilter {
  label?: number;
  flag?: number | 'any' | 'none';
  reason?: number;
}

/** Bytes a row takes in the index: offset 8, length 4, line 4, flags 2, label 2, words 2, reason 1. */
export const INDEX_ROW_BYTES = 23;

/**
 * The viewer's index of a merged file: per row, where its line lies and what the checks found,
 * in typed arrays ({@link INDEX_ROW_BYTES} bytes a row: 23 MB for a million), grown by doubling
 * (or sized once from an estimate, see {@link reserve}). Labels and reasons are interned. Rows
 * without an explanation also keep where their errors-file line is (12 bytes each). The rows
 * themselves stay on disk and are read by position.
 */
export class RowIndex {
  count = 0;
  offsets = new Float64Array(1024);
  lengths = new Uint32Array(1024);
  lines = new Uint32Array(1024);
  flags = new Uint16Array(1024);
  labels = new Uint16Array(1024);
  words = new Uint16Array(1024);
  reasons = new Uint8Array(1024);
  readonly labelNames: string[] = [];
  readonly reasonNames: string[] = ['']; // 0: explained, or no reason known
  private readonly labelIds = new Map<string, number>();
  private readonly reasonIds = new Map<string, number>();
  private missingRows = new Uint32Array(256);
  private missingOffsets = new Float64Array(256);
  private missingCount = 0;

  /** Makes room for `rows` rows in all (e.g. estimated from the file size after the first rows). */
  reserve(rows: number): void {
    if (rows <= this.offsets.length) return;
    const grow = <T extends Float64Array | Uint32Array | Uint16Array | Uint8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(rows);
      b.set(a.subarray(0, this.count) as never);
      return b;
    };
    this.offsets = grow(this.offsets);
    this.lengths = grow(this.lengths);
    this.lines = grow(this.lines);
    this.flags = grow(this.flags);
    this.labels = grow(this.labels);
    this.words = grow(this.words);
    this.reasons = grow(this.reasons);
  }

  add(row: QualityRow, offset: number, length: number): void {
    const i = this.count;
    if (i === this.offsets.length) this.reserve(i * 2);
    this.offsets[i] = offset;
    this.lengths[i] = length;
    this.lines[i] = row.line;
    this.flags[i] = row.flags;
    this.labels[i] = this.intern(this.labelIds, this.labelNames, row.label, MAX_INDEX_LABELS);
    this.words[i] = Math.min(row.words, 65_535);
    if (row.failure) {
      this.reasons[i] = this.intern(this.reasonIds, this.reasonNames, row.failure.reason, MAX_INDEX_REASONS);
      if (row.failure.errorsOffset !== undefined) this.addMissing(i, row.failure.errorsOffset);
    }
    this.count++;
    if (row.duplicate?.count === 2) {
      const first = this.indexOfOffset(row.duplicate.firstRef);
      if (first >= 0) this.flags[first]! |= FLAG_BIT.duplicate_text;
    }
  }

  /** The row whose line starts at `offset` (offsets grow with rows: a binary search), or -1. */
  indexOfOffset(offset: number): number {
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.offsets[mid]!;
      if (v === offset) return mid;
      if (v < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Byte offset of a row's line in the errors file, when it has one. */
  errorsOffset(row: number): number | null {
    let lo = 0;
    let hi = this.missingCount - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.missingRows[mid]!;
      if (v === row) return this.missingOffsets[mid]!;
      if (v < row) lo = mid + 1;
      else hi = mid - 1;
    }
    return null;
  }

  matches(i: number, f: RowFilter): boolean {
    if (f.label !== undefined && this.labels[i] !== f.label) return false;
    if (f.reason !== undefined && this.reasons[i] !== f.reason) return false;
    if (f.flag !== undefined) {
      const flags = this.flags[i]!;
      if (f.flag === 'any' ? flags === 0 : f.flag === 'none' ? flags !== 0 : (flags & f.flag) === 0) return false;
    }
    return true;
  }

  /**
   * One page of the rows matching `filter`: `size` row numbers from the `skip`-th match on, and
   * how many match in all. Without a filter it is arithmetic; with one, a pass over the arrays
   * (a few milliseconds for a million rows, no file read).
   */
  page(filter: RowFilter, skip: number, size: number): { total: number; rows: number[] } {
    const rows: number[] = [];
    if (filter.label === undefined && filter.flag === undefined && filter.reason === undefined) {
      for (let i = skip; i < Math.min(this.count, skip + size); i++) rows.push(i);
      return { total: this.count, rows };
    }
    let total = 0;
    for (let i = 0; i < this.count; i++) {
      if (!this.matches(i, filter)) continue;
      if (total >= skip && rows.length < size) rows.push(i);
      total++;
    }
    return { total, rows };
  }

  /** Memory held, bytes (the typed arrays at their capacity). */
  get bytes(): number {
    return this.offsets.length * INDEX_ROW_BYTES + this.missingRows.length * 12;
  }

  private addMissing(row: number, offset: number): void {
    if (this.missingCount === this.missingRows.length) {
      const rows = new Uint32Array(this.missingCount * 2);
      rows.set(this.missingRows);
      const offsets = new Float64Array(this.missingCount * 2);
      offsets.set(this.missingOffsets);
      this.missingRows = rows;
      this.missingOffsets = offsets;
    }
    this.missingRows[this.missingCount] = row;
    this.missingOffsets[this.missingCount++] = offset;
  }

  private intern(ids: Map<string, number>, names: string[], name: string, max: number): number {
    let id = ids.get(name);
    if (id === undefined) {
      if (names.length >= max) {
        id = ids.get(OTHER) ?? names.length - 1;
        names[id] = OTHER;
        ids.set(OTHER, id);
        return id;
      }
      id = names.length;
      names.push(name);
      ids.set(name, id);
    }
    return id;
  }
}
