/**
 * CSV/TSV records (arrays of fields, as csv-parse gives them) → rows keyed by the header's
 * column names, with the line each record starts on. Pure state, no streams.
 */

export type DelimitedOutcome =
  | { kind: 'header'; columns: readonly string[] }
  | { kind: 'row'; line: number; value: Record<string, string> }
  | { kind: 'reject'; line: number; message: string }
  /** The header names a column twice: no row can be read by name. */
  | { kind: 'fatal'; message: string };

/** What csv-parse's `info` says after a record: the line it ended on and the empty lines skipped so far. */
export interface RecordInfo {
  lines: number;
  empty_lines: number;
}

/**
 * The first record is the header (its column names, a BOM already dropped by the parser); each
 * later record becomes an object of those names. A record with more or fewer fields than the
 * header is rejected with its line (a ragged row), never guessed at.
 */
export class DelimitedRows {
  #columns: string[] | null = null;
  #lastLine = 0;
  #lastEmpty = 0;
  #crlfInFields = 0;

  get columns(): readonly string[] | null {
    return this.#columns;
  }

  /** One record, in the parser's order. `info` is csv-parse's after it. */
  take(fields: readonly string[], info: RecordInfo): DelimitedOutcome {
    const line = this.#lastLine + 1 + (info.empty_lines - this.#lastEmpty);
    // csv-parse counts a CRLF inside a quoted field as two lines: counted once here.
    for (const field of fields) if (field.includes('\r\n')) this.#crlfInFields += field.split('\r\n').length - 1;
    this.#lastLine = info.lines - this.#crlfInFields;
    this.#lastEmpty = info.empty_lines;
    if (this.#columns === null) {
      const seen = new Set<string>();
      for (const name of fields) {
        if (seen.has(name)) return { kind: 'fatal', message: `the header names the column ${JSON.stringify(name)} twice` };
        seen.add(name);
      }
      this.#columns = [...fields];
      return { kind: 'header', columns: this.#columns };
    }
    const columns = this.#columns;
    if (fields.length !== columns.length) {
      return { kind: 'reject', line, message: `line ${line}: ${fields.length} fields where the header has ${columns.length} (${columns.slice(0, 6).map((c) => JSON.stringify(c)).join(', ')}${columns.length > 6 ? ', …' : ''})` };
    }
    const value: Record<string, string> = {};
    for (let i = 0; i < columns.length; i++) value[columns[i]!] = fields[i]!;
    return { kind: 'row', line, value };
  }

  /** The line a record that failed to parse starts on (call in the parser's order), given csv-parse's line count at the failure. */
  failedAt(linesNow: number): number {
    const line = this.#lastLine + 1;
    this.#lastLine = Math.max(linesNow - this.#crlfInFields, line);
    return line;
  }
}
