import { closeSync, openSync, readSync } from 'node:fs';
import { readDecimal } from '../io/decimal.js';
import { failurePayload, outcomePayload } from './result-batch.js';
import { resultFromLine } from './result-line.js';
import { ResultScanner } from './result-scan.js';

/**
 * Step 4 of the merge (pipeline/merge.ts) on one thread: the result lines the joined rows point
 * to, read at their offsets, parsed, as outcome lines for the calling thread to sort by dataset
 * line. Each thread reads the lines itself, so that the calling thread only hands out pointers:
 * reading and parsing a million answers is most of a merge's work, and it splits cleanly
 * between threads.
 *
 * A batch is lines `<source>\t<offset>\t<row>[\t<order>]`, pointers in file order into one
 * source (opened for the batch): the result line at byte `offset`, for the dataset line `row` (with an order when the
 * row has several results). Its outcome is the line `<row>\t<payload>`, the payload being what
 * the merge sorts back into dataset order:
 * - `"…"`: the explanation as a JSON string literal, spliced into the row as it is;
 * - `![id, reason, code, message]`: why there is none (JSON);
 * - either behind `*<order>\t` when the row has several results (a resubmission's): the merge
 *   keeps a success, then the newest.
 */
export class ResultResolver {
  readonly #sources: readonly string[];
  readonly #field: string | undefined;
  readonly #scanner: ResultScanner;
  /** The file a batch points into, open while the batch is resolved (a thread is ended, not closed: it must hold no file between calls). */
  readonly #window = new FileWindow();

  constructor(options: { sources: readonly string[]; field?: string }) {
    this.#sources = options.sources;
    this.#field = options.field;
    this.#scanner = new ResultScanner(options.field);
  }

  /**
   * The outcomes of the pointers in `batch[0, length)`, written into `into` (a buffer of its own
   * memory, to reuse; a larger one is made when it is too small). `bad` counts the lines that were
   * not result lines, or are gone.
   */
  resolve(batch: Buffer, length: number, into?: Buffer): { out: Buffer; bad: number } {
    let out = into && into.length >= 4096 ? into : Buffer.allocUnsafeSlow(Math.max(4096, 2 * length));
    let used = 0;
    let bad = 0;
    if (length === 0) return { out: out.subarray(0, 0), bad };
    const span = lastOffset(batch, length);
    const file = this.#sources[readDecimal(batch, 0, batch.indexOf(TAB))]!;
    this.#window.open(file);
    try {
      for (let at = 0; at < length; ) {
        let end = batch.indexOf(NEWLINE, at);
        if (end === -1 || end > length) end = length;
        const t1 = batch.indexOf(TAB, at);
        const t2 = batch.indexOf(TAB, t1 + 1);
        let t3 = batch.indexOf(TAB, t2 + 1);
        if (t3 === -1 || t3 > end) t3 = end;
        const offset = readDecimal(batch, t1 + 1, t2);
        const line = this.#window.lineAt(offset, Math.max(span, offset));
        let scanned = -1;
        let payload = '';
        if (line === null) {
          bad++;
          payload = failurePayload('', 'no_result', null, `its result line is gone from ${file} at byte ${offset} (was the file changed during the merge?)`);
        } else {
          scanned = this.#scanner.scan(line.buf, line.start, line.end);
          if (scanned === -1) {
            const r = resultFromLine(line.buf.toString('utf8', line.start, line.end), NOWHERE, this.#field);
            if ('bad' in r) bad++;
            payload = outcomePayload(r, () => `${file} at byte ${offset}`);
          }
        }
        // `<row>\t`, `*<order>\t` when there is an order, the payload, a newline.
        const room = end - t2 + 2 + (scanned === -1 ? payload.length * 3 : scanned) + 1;
        if (used + room > out.length) {
          const bigger = Buffer.allocUnsafeSlow(Math.max(out.length * 2, used + room));
          out.copy(bigger, 0, 0, used);
          out = bigger;
        }
        used += batch.copy(out, used, t2 + 1, t3);
        out[used++] = TAB;
        if (t3 < end) {
          out[used++] = STAR;
          used += batch.copy(out, used, t3 + 1, end);
          out[used++] = TAB;
        }
        used += scanned === -1 ? out.write(payload, used, 'utf8') : this.#scanner.output.copy(out, used, 0, scanned);
        out[used++] = NEWLINE;
        at = end + 1;
      }
    } finally {
      this.#window.close();
    }
    return { out: out.subarray(0, used), bad };
  }
}

/**
 * The offset of the last line a batch points to: one read serves the batch, and each thread reads
 * only its batches' part of a file.
 */
function lastOffset(batch: Buffer, length: number): number {
  const start = batch.lastIndexOf(NEWLINE, length - 2) + 1;
  const t1 = batch.indexOf(TAB, start);
  return readDecimal(batch, t1 + 1, batch.indexOf(TAB, t1 + 1));
}

/**
 * Lines of a file read at their offsets through one buffer: a window of the file from the byte
 * before a line (a newline there, or the file's start, shows that the offset starts a line).
 */
class FileWindow {
  #fd = -1;
  #buf = Buffer.allocUnsafe(64 << 10);
  /** The file offset of `#buf[0]`, and the bytes read there. */
  #base = 0;
  #filled = 0;
  #eof = false;
  readonly #line = { buf: this.#buf, start: 0, end: 0 };

  /** Opens `file`; nothing read before counts. */
  open(file: string): void {
    this.close();
    this.#fd = openSync(file, 'r');
    this.#base = 0;
    this.#filled = 0;
    this.#eof = false;
  }

  /** The line starting at `offset` (its bytes without the newline or a `\r` before it), or null when no line starts there. */
  lineAt(offset: number, span: number): { buf: Buffer; start: number; end: number } | null {
    let nl = this.#newlineFrom(offset);
    if (nl === -1) {
      // From the byte before the line to past the last line the batch points to.
      this.#read(Math.max(0, offset - 1), span - offset + 1 + LINE_SLACK);
      while ((nl = this.#newlineFrom(offset)) === -1 && !this.#eof) this.#read(this.#base, this.#buf.length * 2);
    }
    const start = offset - this.#base;
    if (start >= this.#filled || (offset > 0 && (start === 0 || this.#buf[start - 1] !== NEWLINE))) return null;
    let end = nl === -1 ? this.#filled : nl;
    if (end > start && this.#buf[end - 1] === CR) end--;
    this.#line.buf = this.#buf;
    this.#line.start = start;
    this.#line.end = end;
    return this.#line;
  }

  /** Where the line at `offset` ends in the window (its newline; the file's end when it has none), or -1 when not all of it is read. */
  #newlineFrom(offset: number): number {
    const start = offset - this.#base;
    if (offset < this.#base || (offset > 0 && start === 0) || start > this.#filled) return -1;
    const nl = this.#buf.indexOf(NEWLINE, start);
    if (nl !== -1 && nl < this.#filled) return nl;
    return this.#eof ? this.#filled : -1;
  }

  #read(position: number, length: number): void {
    if (this.#buf.length < length) this.#buf = Buffer.allocUnsafe(length);
    this.#base = position;
    this.#filled = 0;
    this.#eof = false;
    while (this.#filled < length) {
      const n = readSync(this.#fd, this.#buf, this.#filled, length - this.#filled, position + this.#filled);
      if (n === 0) {
        this.#eof = true;
        break;
      }
      this.#filled += n;
    }
  }

  close(): void {
    if (this.#fd !== -1) closeSync(this.#fd);
    this.#fd = -1;
  }
}

const NOWHERE = { source: '', order: 0 };
/** Read past the last line a batch points to, so that one read holds it whole (most lines are shorter). */
const LINE_SLACK = 64 << 10;
const NEWLINE = 10;
const TAB = 9;
const CR = 13;
const STAR = 0x2a;
