import { bufferLines, type LineView } from '../io/sync-lines.js';
import { afterIdKey, idLiteral, idOfLiteral, plainLiteralFrom, type LiteralRange } from '../json/id-key.js';
import { readDecimal, writeDecimal } from '../io/decimal.js';
import type { RunSorter, SortedEntry } from '../sort/run-sorter.js';
import type { ResultSource } from '../results/result-line.js';
import { resultLineKeys } from '../results/result-keys.js';

/**
 * The two sides of the merge's join, as sort entries keyed by the hash of the id's JSON literal
 * (see id-key.ts): dataset rows as `<line>\t<literal>`, result lines as
 * `<source>\t<offset>\t<order>\t<literal>`; and the same entries read back. Shared by the merge
 * and the thread that indexes result files beside it.
 */

/** What the synchronous loops look at, every so many lines: an AbortSignal, or a thread's flag. */
export interface Aborting {
  throwIfAborted(): void;
}

export type IdHash = (buf: Buffer, start: number, end: number) => number;

/** Entries between two looks at the abort signal in the synchronous loops. */
export const CHECK_EVERY = 65_536;

/** The id rule of `validateRow`: a non-empty string, or a safe integer as its string. */
export function datasetKey(value: unknown): string | null {
  const id = (value as { id?: unknown } | null)?.id;
  if (typeof id === 'string') return id.trim() === '' ? null : id;
  if (typeof id === 'number' && Number.isSafeInteger(id)) return String(id);
  return null;
}

/** {@link datasetKey} of a JSON line's text; null when the line is not JSON or has no usable id. */
export function lineKey(text: string): string | null {
  try {
    return datasetKey(JSON.parse(text));
  } catch {
    return null;
  }
}


/** Adds an entry for every dataset row with a usable id. */
export function addDatasetKeys(file: string, sorter: RunSorter, idHash: IdHash, signal?: Aborting): void {
  const entry = Buffer.allocUnsafe(ENTRY_BYTES);
  for (const k of datasetKeys(file, signal)) {
    const at = writeDecimal(entry, 0, k.line);
    entry[at] = TAB;
    sorter.addBytes(idHash(k.id.buf, k.id.start, k.id.end), ...withLiteral(entry, at + 1, k.id));
  }
}

/** Adds an entry for every result line of `sources` (their index in it is the entry's source). Returns the lines that are not result lines. */
export function addResultKeys(sources: readonly ResultSource[], sorter: RunSorter, idHash: IdHash, signal?: Aborting): number {
  const entry = Buffer.allocUnsafe(ENTRY_BYTES);
  let bad = 0;
  for (const [index, src] of sources.entries()) {
    let n = 0;
    for (const k of resultLineKeys(src)) {
      if (++n % CHECK_EVERY === 0) signal?.throwIfAborted();
      if ('bad' in k) {
        bad++;
        continue;
      }
      let at = writeDecimal(entry, 0, index);
      entry[at++] = TAB;
      at = writeDecimal(entry, at, k.offset);
      entry[at++] = TAB;
      at = writeDecimal(entry, at, k.order);
      entry[at++] = TAB;
      sorter.addBytes(idHash(k.id.buf, k.id.start, k.id.end), ...withLiteral(entry, at, k.id));
    }
  }
  signal?.throwIfAborted();
  return bad;
}

const ENTRY_BYTES = 64 * 1024;

/** A dataset row's key, read back from its sorted entry: the id literal as latin1 (compared, rarely decoded). */
export interface DatasetKey {
  hash: number;
  line: number;
  literal: string;
}

export interface PointerKey {
  hash: number;
  src: number;
  offset: number;
  order: number;
  literal: string;
}

/** `entry[0, at)` followed by the literal's bytes, as addBytes arguments (a copy for an id longer than the entry). */
function withLiteral(entry: Buffer, at: number, id: LiteralRange): [Buffer, number, number] {
  const end = at + id.end - id.start;
  const target = end <= entry.length ? entry : Buffer.concat([entry.subarray(0, at), Buffer.alloc(end - at)]);
  id.buf.copy(target, at, id.start, id.end);
  return [target, 0, end];
}

export function literalId(latin1: string): string {
  const bytes = Buffer.from(latin1, 'latin1');
  return idOfLiteral(bytes, 0, bytes.length);
}

/** The tab-ended decimal fields at the front of an entry (into `into`), then the rest (the id literal) as latin1. */
function fieldsOf(e: SortedEntry, count: number, into: number[]): string {
  let at = e.start;
  for (let f = 0; f < count; f++) {
    const tab = e.buf.indexOf(TAB, at);
    into[f] = readDecimal(e.buf, at, tab);
    at = tab + 1;
  }
  return e.buf.toString('latin1', at, e.end);
}

const fields: number[] = [0, 0, 0];

export function readDatasetKey(e: SortedEntry): DatasetKey {
  const literal = fieldsOf(e, 1, fields);
  return { hash: e.key as number, line: fields[0]!, literal };
}

export function readPointerKey(e: SortedEntry): PointerKey {
  const literal = fieldsOf(e, 3, fields);
  return { hash: e.key as number, src: fields[0]!, offset: fields[1]!, order: fields[2]!, literal };
}


/** A joined row as an entry of the sort by pointer: `key` the result's pointer (or -1), `payload` the row's line and what it needs. */
export interface JoinedRow {
  key: number;
  payload: string;
}

/**
 * The join of the merge's step 3: dataset entries and result pointers, both sorted by hash, read
 * side by side; each hash's group goes to `joined` (sorted by pointer next). The usual group, one
 * row and one result with the same literal, becomes the entry `<src × 2^40 + offset>` →
 * `<line>` straight from the entries' bytes; any other (a row without a result, a result without
 * a row, a repeated id, colliding hashes) goes to `other`, as objects. Holds one hash's entries.
 */
export function joinEntries(keys: Iterable<SortedEntry>, pointers: Iterable<SortedEntry>, joined: RunSorter, other: (lefts: DatasetKey[], rights: PointerKey[]) => JoinedRow[], signal?: Aborting): void {
  const l = keys[Symbol.iterator]();
  const r = pointers[Symbol.iterator]();
  const lefts = new EntryGroup();
  const rights = new EntryGroup();
  let left = l.next();
  let right = r.next();
  const keyOf = (next: IteratorResult<SortedEntry>) => (next.done ? Infinity : (next.value.key as number));
  try {
    for (let n = 1; !left.done || !right.done; n++) {
      const hash = Math.min(keyOf(left), keyOf(right));
      lefts.clear();
      rights.clear();
      for (; keyOf(left) === hash; left = l.next()) lefts.add(left.value as SortedEntry);
      for (; keyOf(right) === hash; right = r.next()) rights.add(right.value as SortedEntry);
      // Each side's next entry comes after this hash, unless that side is out of order.
      if (keyOf(left) < hash || keyOf(right) < hash) throw new Error(`join: the ${keyOf(left) < hash ? 'dataset' : 'results'} side is not sorted`);
      if (!joinOne(lefts, rights, joined)) for (const row of other(lefts.map(hash, readDatasetKey), rights.map(hash, readPointerKey))) joined.add(row.key, row.payload);
      if (n % CHECK_EVERY === 0) signal?.throwIfAborted();
    }
  } finally {
    l.return?.();
    r.return?.();
  }
}

/** The usual group (one row `<line>\t<literal>`, one result `<src>\t<offset>\t<order>\t<literal>`, the same literal) joined in place; false for any other. */
function joinOne(lefts: EntryGroup, rights: EntryGroup, joined: RunSorter): boolean {
  if (lefts.count !== 1 || rights.count !== 1) return false;
  const lb = lefts.buf;
  const rb = rights.buf;
  const lineEnd = lb.indexOf(TAB, lefts.starts[0]!);
  const srcEnd = rb.indexOf(TAB, rights.starts[0]!);
  const offsetEnd = rb.indexOf(TAB, srcEnd + 1);
  const orderEnd = rb.indexOf(TAB, offsetEnd + 1);
  if (lb.compare(rb, orderEnd + 1, rights.ends[0]!, lineEnd + 1, lefts.ends[0]!) !== 0) return false;
  joined.addBytes(readDecimal(rb, rights.starts[0]!, srcEnd) * 2 ** 40 + readDecimal(rb, srcEnd + 1, offsetEnd), lb, lefts.starts[0]!, lineEnd);
  return true;
}

/** One hash's entries of one side, copied out of the sorted runs' buffer (each view lasts until the next entry is read). */
class EntryGroup {
  buf = Buffer.allocUnsafe(4096);
  starts: number[] = [];
  ends: number[] = [];
  count = 0;
  #used = 0;

  clear(): void {
    this.count = 0;
    this.#used = 0;
  }

  add(e: SortedEntry): void {
    const length = e.end - e.start;
    if (this.#used + length > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.#used + length));
      this.buf.copy(bigger, 0, 0, this.#used);
      this.buf = bigger;
    }
    e.buf.copy(this.buf, this.#used, e.start, e.end);
    this.starts[this.count] = this.#used;
    this.#used += length;
    this.ends[this.count++] = this.#used;
  }

  map<T>(hash: number, read: (e: SortedEntry) => T): T[] {
    return Array.from({ length: this.count }, (_, i) => read({ key: hash, buf: this.buf, start: this.starts[i]!, end: this.ends[i]! }));
  }
}


/**
 * The dataset's keyed rows: the id literal and line of every row with a usable id (the rule of
 * validateRow), read synchronously. The object yielded and its view are reused.
 */
export function* datasetKeys(file: string, signal?: Aborting): Generator<{ id: LiteralRange; line: number }> {
  const key = { id: { buf: EMPTY, start: 0, end: 0 } as LiteralRange, line: 0 };
  for (const v of bufferLines(file)) {
    if (v.line % CHECK_EVERY === 0) signal?.throwIfAborted();
    if (!datasetKeyAt(v, key.id)) continue;
    key.line = v.line;
    yield key;
  }
}

/**
 * The id literal of a dataset line into `id`, or false when the row has no usable id: a plain id
 * is taken from the start of its line where it lies, else the line is parsed.
 */
export function datasetKeyAt(v: LineView, id: LiteralRange): boolean {
  let start = v.start;
  if (v.offset === 0 && v.buf[start] === 0xef && v.buf[start + 1] === 0xbb && v.buf[start + 2] === 0xbf) start += 3;
  if (start >= v.end) return false;
  // `{"id": ` at the start of most dataset lines: the id is read from there without parsing the row.
  if (plainLiteralFrom(v.buf, afterIdKey(v.buf, start, v.end), v.end, id)) return true;
  let value: unknown;
  try {
    value = (JSON.parse(v.buf.toString('utf8', start, v.end)) as { id?: unknown } | null)?.id;
  } catch {
    return false;
  }
  const k = datasetKey({ id: value });
  if (k === null) return false;
  const literal = idLiteral(k);
  id.buf = literal;
  id.start = 0;
  id.end = literal.length;
  return true;
}

const EMPTY = Buffer.alloc(0);
const TAB = 9;

