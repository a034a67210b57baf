import { bufferLines, LINE_CHUNK_BYTES, type LineView } from '../io/sync-lines.js';
import { afterIdKey, idLiteral, idOfLiteral, plainLiteralFrom, type LiteralRange } from '../json/id-key.js';
import { readDecimal, writeDecimal } from '../io/decimal.js';
import type { SortedEntry } from '../sort/run-sorter.js';
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


/** Where the key loops write their entries: a sorter (the index thread's), or a batch of entries. */
export interface KeySink {
  addBytes(key: number, buf: Buffer, start: number, end: number): void;
  /** Time for the loop to yield (a batch to hand on); never, when absent. */
  readonly full?: boolean;
}

/** Writes an entry into `sink` for every dataset row with a usable id; yields whenever the sink is full. */
export function* datasetKeyLines(file: string, sink: KeySink, idHash: IdHash, signal?: Aborting): Generator<void> {
  const entry = Buffer.allocUnsafe(ENTRY_BYTES);
  for (const k of datasetKeys(file, signal)) {
    const at = writeDecimal(entry, 0, k.line);
    entry[at] = TAB;
    sink.addBytes(idHash(k.id.buf, k.id.start, k.id.end), ...withLiteral(entry, at + 1, k.id));
    if (sink.full) yield;
  }
}

/**
 * Writes an entry into `sink` for every result line of `sources` (their index in it is the
 * entry's source); yields whenever the sink is full. Returns the lines that are not result lines.
 */
export function* resultKeyLines(sources: readonly ResultSource[], sink: KeySink, idHash: IdHash, signal?: Aborting): Generator<void, number> {
  const entry = Buffer.allocUnsafe(ENTRY_BYTES);
  // One read buffer for every file: a job has tens of result files, and a dead 1 MiB buffer per
  // file stayed resident on the index thread until its collector ran (~20 MB at 25 files, the
  // peak of a million rows' merge: bench/RESULTS.md).
  const chunk = Buffer.allocUnsafeSlow(LINE_CHUNK_BYTES);
  let bad = 0;
  for (const [index, src] of sources.entries()) {
    let n = 0;
    for (const k of resultLineKeys(src, chunk)) {
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
      sink.addBytes(idHash(k.id.buf, k.id.start, k.id.end), ...withLiteral(entry, at, k.id));
      if (sink.full) yield;
    }
  }
  signal?.throwIfAborted();
  return bad;
}

/** {@link resultKeyLines} run to the end (into a sorter). */
export function addResultKeys(sources: readonly ResultSource[], sink: KeySink, idHash: IdHash, signal?: Aborting): number {
  const loop = resultKeyLines(sources, sink, idHash, signal);
  for (;;) {
    const step = loop.next();
    if (step.done) return step.value;
  }
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

