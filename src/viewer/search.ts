import type { FileHandle } from 'node:fs/promises';
import { normalizeArabic } from '../core/quality/quality.js';
import { tolerant } from '../core/quality/reclassification.js';
import { labelOf } from '../core/quality/quality-checker.js';
import type { RowFilter, RowIndex } from './row-index.js';
import { rowFields } from '../core/dataset/row-view.js';
import type { FieldMapping } from '../core/dataset/mapping.js';

/** Bytes read at once while searching: one buffer, reused (grown only for a longer row). */
export const SEARCH_CHUNK_BYTES = 1 << 20;
/** Bytes scanned by one request at most: a search through a large file comes back in steps, each with where to go on. */
export const SEARCH_BUDGET_BYTES = 64 * 1024 * 1024;

export interface SearchResult {
  /** Matching rows, in file order. */
  rows: number[];
  /** The row to go on from, or null when the file was searched to its end. */
  next: number | null;
}

/**
 * A query as a pattern matching the text as it is: case-insensitive, Arabic diacritics, tatweel
 * and letter forms (أ/ا, ى/ي, ة/ه) ignored, any run of spaces or line breaks for a space.
 * Quotes, backslashes and control characters are not searched for (they are escaped in the raw
 * line). A slash matches a slash, as it is or escaped (`\/`, which JSON allows).
 * Null for an empty query.
 */
export function queryPattern(query: string): RegExp | null {
  const q = normalizeArabic(query.replace(/["\\\u0000-\u001f]/g, ' ').trim().replace(/\s+/g, ' '));
  if (q === '') return null;
  // A space also matches a newline or tab escaped in the raw line (`\n`), and a slash an escaped one, so the raw test never misses a match.
  const pattern = tolerant(q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .replaceAll(String.raw`\s+`, String.raw`(?:\s|\\[nrt])+`)
    .replaceAll('/', String.raw`\\?/`);
  return new RegExp(pattern, 'i');
}

/**
 * Text search without an index: the rows matching `filter` from row `from` on are read from the
 * file in chunks of {@link SEARCH_CHUNK_BYTES} and searched for `query` (see {@link queryPattern})
 * in their id, label, text and explanation. A row's raw line is tested first (no copy, no JSON
 * parse) and parsed only when it may match: sound because a line with no `\u` escape holds every
 * value verbatim, escapes aside, and the pattern matches no escaped character but `\/`, `\n`,
 * `\r`, `\t` where the text has `/` or a space. A label given as an array is searched as shown,
 * joined (`a, b`), which its raw line does not hold: rows whose label (from the index) may match
 * skip the raw test.
 * Stops at `limit` matches or once `budgetBytes` are read (reads never go past the budget by more
 * than one row), returning where to go on. Memory: one chunk.
 */
export async function searchRows(options: {
  index: RowIndex;
  file: FileHandle;
  field: string;
  query: string;
  filter: RowFilter;
  from: number;
  limit: number;
  budgetBytes?: number;
  /** Where rows keep their id, label and text (the job's mapping). Default `id`, `class_label`, `text`. */
  mapping?: FieldMapping;
}): Promise<SearchResult> {
  const { index, file, field, filter, limit } = options;
  const query = queryPattern(options.query);
  const budget = options.budgetBytes ?? SEARCH_BUDGET_BYTES;
  const rows: number[] = [];
  // Per label of the index: whether the query may match it (its name is the label as shown).
  const labelHits = query === null ? [] : index.labelNames.map((name) => query.test(name));
  let buf = Buffer.allocUnsafe(SEARCH_CHUNK_BYTES);
  let read = 0;
  let i = Math.max(0, options.from);
  while (i < index.count) {
    if (rows.length >= limit || read >= budget) return { rows, next: i };
    if (!index.matches(i, filter)) {
      i++;
      continue;
    }
    // A chunk from this row's start: every matching row that lies whole in it is searched.
    const start = index.offsets[i]!;
    const need = index.lengths[i]!;
    if (need > buf.length) buf = Buffer.allocUnsafe(need);
    // At most the budget left, and never less than the row.
    const { bytesRead } = await file.read(buf, 0, Math.max(need, Math.min(buf.length, budget - read)), start);
    read += bytesRead;
    let j = i;
    for (; j < index.count && rows.length < limit; j++) {
      const at = index.offsets[j]! - start;
      const end = at + index.lengths[j]!;
      if (end > bytesRead) break;
      if (index.matches(j, filter) && rowMatches(buf.toString('utf8', at, end), query, field, labelHits[index.labels[j]!], options.mapping)) rows.push(j);
    }
    i = Math.max(j, i + 1);
  }
  return { rows, next: null };
}

/**
 * Whether one line's id, label, text or explanation matches the query's pattern (null: every row).
 * `labelMayMatch`: the row's label as shown may match, so the raw line is not tested first.
 */
export function rowMatches(line: string, query: RegExp | null, field: string, labelMayMatch = false, mapping?: FieldMapping): boolean {
  if (query === null) return true;
  if (!labelMayMatch && !line.includes('\\u') && !query.test(line)) return false;
  let v: unknown;
  try {
    v = JSON.parse(line.replace(/^\uFEFF/, ''));
  } catch {
    return false;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const row = v as Record<string, unknown>;
  const mapped = mapping ? rowFields(row, mapping) : null;
  const fields = mapped ? [mapped.id, mapped.label, mapped.text, row[field]] : [row.id, labelOf(row.class_label), row.text ?? row.extracted_text, row[field]];
  return fields.some((f) => (typeof f === 'string' || typeof f === 'number') && query.test(String(f)));
}
