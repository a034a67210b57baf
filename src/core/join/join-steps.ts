// The merge's steps 4 and 5 (see pipeline/merge.ts): result lines pointed out to the threads that read and parse them, rows spliced; and the build's rejects read.
import { BatchExplainError } from '../../errors.js';
import { bufferLines } from '../io/sync-lines.js';
import { readDecimal, writeDecimal } from '../io/decimal.js';
import type { SortedEntry } from '../sort/run-sorter.js';
import { readFailure } from '../results/result-batch.js';
import { copyBytes } from '../io/sync-writer.js';
import type { MergedRow, MissingRow, RowSink, SpliceOutcome } from './dataset-splicer.js';

/** Pointer frames per batch, in bytes: a span's (~225 answers of ~1 KB, ~20 bytes each) with room to spare; many batches are under way at once. */
export const BATCH_BYTES = 16 << 10;
/** The most bytes of a result file one batch's pointers span (a thread reads them at once). */
export const SPAN_BYTES = 256 << 10;

export function* mapEntries<T>(entries: Iterable<SortedEntry>, map: (e: SortedEntry) => T): Generator<T> {
  for (const e of entries) yield map(e);
}

export function readReject(e: SortedEntry): { line: number; code: string; message: string } {
  const [code, message] = JSON.parse(e.buf.toString('utf8', e.start, e.end)) as [string, string];
  return { line: e.key as number, code, message };
}

/** The most bytes {@link framePointer} adds besides the entry's own. */
export const POINTER_ROOM = 2 * 17 + 1;

/**
 * Frames one joined row's pointer for the result threads at `batch[used]`: `<source>\t<offset>\t`
 * before the entry's `<line>[\t<order>]` (`entry[start, end)`), as result-resolver.ts reads it.
 * Returns the end.
 */
export function framePointer(batch: Buffer, used: number, src: number, offset: number, entry: Buffer, start: number, end: number): number {
  used = writeDecimal(batch, used, src);
  batch[used++] = TAB;
  used = writeDecimal(batch, used, offset);
  batch[used++] = TAB;
  used = copyBytes(entry, start, end, batch, used);
  batch[used++] = NEWLINE_CODE;
  return used;
}

const TAB = 9;
const NEWLINE_CODE = 10;

/**
 * Step 5's rows, written into one reused chunk for the splice stage to hand on: `onRow` is told
 * of each row (and why it has none). Nothing is allocated for a row with an explanation.
 */
export class ChunkRowSink implements RowSink {
  readonly #bytes: number;
  readonly #onRow: (missing: MergedRow['missing']) => void;
  #buf: Buffer;
  #used = 0;

  constructor(onRow: (missing: MergedRow['missing']) => void, chunkBytes: number) {
    this.#onRow = onRow;
    this.#bytes = chunkBytes;
    this.#buf = Buffer.allocUnsafeSlow(chunkBytes);
  }

  get full(): boolean {
    return this.#used >= this.#bytes;
  }

  get empty(): boolean {
    return this.#used === 0;
  }

  piece(buf: Buffer, start: number, end: number): void {
    if (this.#used + end - start + 1 > this.#buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(2 * this.#buf.length, this.#used + end - start + 1));
      this.#buf.copy(bigger, 0, 0, this.#used);
      this.#buf = bigger;
    }
    this.#used = copyBytes(buf, start, end, this.#buf, this.#used);
  }

  endRow(_line: number, missing: MergedRow['missing']): void {
    // piece() left room for the newline.
    this.#buf[this.#used++] = NEWLINE_CODE;
    this.#onRow(missing);
  }

  dropRow(_line: number, missing: MissingRow): void {
    this.#onRow(missing);
  }

  /** The rows written, as a chunk valid until the sink is written to again. */
  take(): Buffer {
    const chunk = this.#buf.subarray(0, this.#used);
    this.#used = 0;
    return chunk;
  }
}

/**
 * The outcomes of a row with several results (`*<order>\t<payload>` entries, a resubmission's):
 * a success is kept over a failure, then the newest. Entries are views that the next one may
 * overwrite: the best so far is copied.
 */
export class OutcomeChoice {
  #best: { ok: boolean; order: number; bytes: Buffer } | null = null;

  /** Whether the entry at `buf[start]` is one of several outcomes of its row. */
  static isCandidate(buf: Buffer, start: number): boolean {
    return buf[start] === STAR;
  }

  add(buf: Buffer, start: number, end: number): void {
    const tab = buf.indexOf(TAB, start);
    const order = readDecimal(buf, start + 1, tab);
    const ok = buf[tab + 1] === QUOTE;
    const best = this.#best;
    if (!best || (ok && !best.ok) || (ok === best.ok && order > best.order)) this.#best = { ok, order, bytes: Buffer.from(buf.subarray(tab + 1, end)) };
  }

  /** The outcome kept; the choice starts again. */
  take(): SpliceOutcome {
    const best = this.#best!;
    this.#best = null;
    return best.ok ? { json: best.bytes } : readFailure(best.bytes, 0, best.bytes.length);
  }
}

/** A row's only outcome, `buf[start, end)`: its explanation's literal (a view, reused), or its failure. */
export function outcomeAt(buf: Buffer, start: number, end: number, view: { json: Buffer; start: number; end: number }): SpliceOutcome {
  if (buf[start] !== QUOTE) return readFailure(buf, start, end);
  view.json = buf;
  view.start = start;
  view.end = end;
  return view;
}

const STAR = 0x2a;
const QUOTE = 0x22;

/** The build's rejects file (`{line, code, message}` lines). */
export function* readRejects(file: string): Generator<{ line: number; code: string; message: string }> {
  for (const v of bufferLines(file)) {
    const text = v.buf.toString('utf8', v.start, v.end);
    if (!text.trim()) continue;
    let r: { line?: unknown; code?: unknown; message?: unknown };
    try {
      r = JSON.parse(text) as typeof r;
    } catch {
      throw new BatchExplainError('E_INPUT', `${file}:${v.line}: not JSON: not a rejects file of ours`);
    }
    if (typeof r.line === 'number') yield { line: r.line, code: typeof r.code === 'string' ? r.code : 'rejected', message: typeof r.message === 'string' ? r.message : '' };
  }
}
