// The splice of the merge's last step: the dataset read once, in order, each row's outcome spliced into its own bytes (out of stages/reverse/merge-into-dataset.ts, whose core it is).
import { bufferLines, ReadAhead, type LineView } from '../io/sync-lines.js';
import { setTopLevelField, topLevelValueSpan } from '../json/json-splice.js';
import { lineKey } from './join-keys.js';
import { lineText, Utf8Blocks, whyNotAnObject } from '../json/json-line-check.js';
import { JsonSkipper } from '../json/result-json.js';


/**
 * A row of the merged dataset, and, when it has no explanation, its entry for the errors file.
 * `parts` are views into reused buffers: write them before asking for the next row.
 */
export interface MergedRow {
  line: number;
  /** Empty for a row left out of the output (`dropped`). */
  parts: Buffer[];
  missing?: MissingRow;
  /** A line that is not a JSON object: it is not written to the output (which must stay JSONL), only to the errors file. */
  dropped?: true;
}

/** A row without an explanation, as the errors file has it. A `not_json` line brings its text (`text_base64` when it is not UTF-8). */
export interface MissingRow {
  line: number;
  id: string | null;
  reason: string;
  code?: string;
  message?: string;
  text?: string;
  text_base64?: string;
}

export interface MergeIntoDatasetOptions {
  /** The dataset file (read again, line by line, in its order). */
  dataset: string;
  /** Default `generated_explanation`. */
  field?: string;
  /** The build's rejects sorted by line: why a row with no outcome never made a request. */
  rejects?: Iterable<{ line: number; code: string; message: string }>;
  /** Read the dataset ahead on the thread pool (the caller lets the event loop turn as it writes: the merge). */
  readAhead?: boolean;
}

/** A row's outcome as the splicer takes it: its explanation as the bytes of a JSON literal (`json[start, end)`, all of it by default), or why it has none (an empty `id`: the row's own). */
export type SpliceOutcome = { json: Buffer; start?: number; end?: number } | { id: string; reason: string; code?: string; message?: string };

/** Where {@link DatasetSplicer.writeUpTo} writes rows: each row's bytes as pieces (views valid during the call only), then the row's end. */
export interface RowSink {
  piece(buf: Buffer, start: number, end: number): void;
  endRow(line: number, missing: MergedRow['missing']): void;
  /** A row left out of the output (a line that is not a JSON object): nothing was written for it. */
  dropRow(line: number, missing: MissingRow): void;
  /** Stops {@link DatasetSplicer.writeUpTo} between rows (until the caller has made room). */
  readonly full: boolean;
}

/**
 * The stage's synchronous core, which the merge drives directly from its sorted runs: the
 * dataset is read once, in order; `upTo(line, outcome)` gives the rows before `line` (with no
 * outcome) and then that row with its outcome.
 */
export class DatasetSplicer {
  readonly #field: string;
  readonly #fieldName: Buffer;
  readonly #compact: Buffer;
  readonly #spaced: Buffer;
  readonly #keyOnly: Buffer;
  readonly #lines: Generator<LineView>;
  readonly #rejects: Iterator<{ line: number; code: string; message: string }> | undefined;
  #reject: IteratorResult<{ line: number; code: string; message: string }> | undefined;
  #next: LineView | null = null;
  readonly #skipper = new JsonSkipper();
  readonly #utf8 = new Utf8Blocks();

  constructor(options: MergeIntoDatasetOptions) {
    this.#field = options.field ?? 'generated_explanation';
    const fieldBytes = Buffer.from(JSON.stringify(this.#field));
    this.#compact = Buffer.concat([Buffer.from(','), fieldBytes, Buffer.from(':')]);
    this.#spaced = Buffer.concat([Buffer.from(', '), fieldBytes, Buffer.from(': ')]);
    this.#keyOnly = Buffer.concat([fieldBytes, Buffer.from(':')]);
    this.#fieldName = Buffer.from(this.#field);
    this.#lines = bufferLines(options.dataset, 1 << 20, undefined, options.readAhead ? new ReadAhead().read : undefined);
    this.#rejects = options.rejects?.[Symbol.iterator]();
  }

  /** The rows before `line`, with no outcome, then the row at `line` with `outcome`. */
  *upTo(line: number, outcome: SpliceOutcome): Generator<MergedRow> {
    const rows = new CollectingSink();
    while (!this.writeUpTo(line, outcome, rows)) yield* rows.take();
    yield* rows.take();
  }

  /** The rows left, with no outcome. */
  *rest(): Generator<MergedRow> {
    const rows = new CollectingSink();
    while (!this.writeRest(rows)) yield* rows.take();
    yield* rows.take();
  }

  /**
   * {@link upTo} into `sink`, with nothing allocated for a row with an explanation: the merge's
   * own loop. Returns false when it stopped early because the sink was full (call it again with
   * the same arguments once there is room).
   */
  writeUpTo(line: number, outcome: SpliceOutcome, sink: RowSink): boolean {
    for (;;) {
      // Checked before the next line is read: the pieces written may be views of the current one.
      if (sink.full) return false;
      const v = this.#peek();
      if (!v || v.line > line) throw new Error(`merge: an outcome for line ${line} has no dataset line (was the dataset changed?)`);
      this.#next = null;
      const written = this.#write(v, v.line === line ? outcome : undefined, sink);
      if (v.line === line) {
        if (!written) throw new Error(`merge: an outcome for line ${line}, a blank line of the dataset (was the dataset changed?)`);
        return true;
      }
    }
  }

  /** {@link rest} into `sink`; false when it stopped early because the sink was full. */
  writeRest(sink: RowSink): boolean {
    for (;;) {
      if (sink.full) return false;
      const v = this.#peek();
      if (!v) return true;
      this.#next = null;
      this.#write(v, undefined, sink);
    }
  }

  /** Lets the dataset go, and the rejects (a sorter's runs being read, when the merge stops early). */
  close(): void {
    this.#lines.return(undefined);
    this.#rejects?.return?.();
  }

  #peek(): LineView | null {
    if (!this.#next) {
      const n = this.#lines.next();
      this.#next = n.done ? null : n.value;
    }
    return this.#next;
  }

  #rejectFor(line: number): { line: number; code: string; message: string } | undefined {
    if (!this.#rejects) return undefined;
    this.#reject ??= this.#rejects.next();
    while (!this.#reject.done && this.#reject.value.line < line) this.#reject = this.#rejects.next();
    return !this.#reject.done && this.#reject.value.line === line ? this.#reject.value : undefined;
  }

  /** Writes the merged row of a dataset line; false for a blank line (not a row). */
  #write(v: LineView, outcome: SpliceOutcome | undefined, sink: RowSink): boolean {
    const { buf, line } = v;
    let start = v.start;
    if (line === 1 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) start += 3;
    let s = start;
    while (s < v.end && (buf[s] === 32 || buf[s] === 9 || buf[s] === 13)) s++;
    if (s === v.end) return false; // blank: not a row
    const json = outcome && 'json' in outcome ? outcome : null;
    // A line's reject is read ahead of its outcome's: the build's verdict that it is not an object.
    const notJson = whyNotAnObject(buf, start, v.end, this.#utf8.valid(v, start), this.#rejectFor(line)?.code, json !== null && this.#rejects !== undefined, this.#skipper);
    if (notJson !== null) {
      sink.dropRow(line, { line, id: null, reason: 'not_json', message: notJson, ...lineText(buf, start, v.end) });
      return true;
    }
    if (json) this.#splice(buf, start, v.end, json.json, json.start ?? 0, json.end ?? json.json.length, sink);
    else this.#splice(buf, start, v.end, NULL, 0, NULL.length, sink);
    if (json) {
      sink.endRow(line, undefined);
      return true;
    }
    const failure = outcome && !('json' in outcome) ? outcome : undefined;
    // A row with no result at all may have been refused at build: that is its reason then.
    const noResult = !failure || failure.reason === 'no_result' || failure.reason === 'pending';
    const reject = noResult ? this.#rejectFor(line) : undefined;
    const missing =
      failure && !reject
        ? { line, id: failure.id || lineKey(buf.toString('utf8', start, v.end)), reason: failure.reason, ...(failure.code ? { code: failure.code } : {}), ...(failure.message ? { message: failure.message } : {}) }
        : {
            line,
            id: failure?.id || lineKey(buf.toString('utf8', start, v.end)),
            reason: 'not_sent',
            ...(reject ? { code: reject.code, message: reject.message } : { message: 'the row could not become a request (no usable id, or not a JSON object)' }),
          };
    sink.endRow(line, missing);
    return true;
  }

  /** The line's bytes with the field set to `value[vs, ve)`: spliced before the last `}`, or through the text path when the line names the field. */
  #splice(buf: Buffer, start: number, end: number, value: Buffer, vs: number, ve: number, sink: RowSink): void {
    const field = this.#field;
    // (Searched in a view of the line: a search of the buffer from `start` would go on past the line.)
    if (buf.subarray(start, end).indexOf(this.#fieldName) !== -1) {
      // The name occurs: the field may be there already (a second merge). Rare: work on text.
      const text = buf.toString('utf8', start, end);
      try {
        if (topLevelValueSpan(text, field) !== null || !text.includes('}')) {
          const spliced = Buffer.from(setTopLevelField(text, field, value.toString('utf8', vs, ve)));
          return sink.piece(spliced, 0, spliced.length);
        }
      } catch {
        return sink.piece(buf, start, end);
      }
    }
    let close = end - 1;
    while (close >= start && buf[close] !== 125) close--;
    if (close < start) return sink.piece(buf, start, end);
    let body = close;
    while (body > start && (buf[body - 1] === 32 || buf[body - 1] === 9)) body--;
    let open = start;
    while (buf[open] !== 123) open++;
    const empty = body === open + 1;
    // Follow the line's own style: Python's json.dumps writes `, ` and `: `.
    const sep = empty ? this.#keyOnly : isSpaced(buf, start, close) ? this.#spaced : this.#compact;
    sink.piece(buf, start, body);
    sink.piece(sep, 0, sep.length);
    sink.piece(value, vs, ve);
    sink.piece(buf, body, end);
  }
}

/** A sink that keeps one row as a {@link MergedRow} (the generators' way: its parts are views of the line, valid until the next one is read). */
class CollectingSink implements RowSink {
  #rows: MergedRow[] = [];
  #parts: Buffer[] = [];

  get full(): boolean {
    return this.#rows.length > 0;
  }

  piece(buf: Buffer, start: number, end: number): void {
    this.#parts.push(buf.subarray(start, end));
  }

  endRow(line: number, missing: MergedRow['missing']): void {
    this.#rows.push(missing ? { line, parts: this.#parts, missing } : { line, parts: this.#parts });
    this.#parts = [];
  }

  dropRow(line: number, missing: MissingRow): void {
    this.#rows.push({ line, parts: [], missing, dropped: true });
  }

  take(): MergedRow[] {
    const rows = this.#rows;
    this.#rows = [];
    return rows;
  }
}

const NULL = Buffer.from('null');

/** `": ` somewhere in the line: the dataset writes spaces after colons. */
function isSpaced(buf: Buffer, start: number, end: number): boolean {
  for (let i = buf.indexOf(58, start); i !== -1 && i < end; i = buf.indexOf(58, i + 1)) {
    if (buf[i - 1] === 34 && (buf[i + 1] === 32 || buf[i + 1] === 9)) return true;
  }
  return false;
}
