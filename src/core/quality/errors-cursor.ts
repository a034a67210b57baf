import { BatchExplainError } from '../../errors.js';
import type { RowFailure } from './quality-checker.js';
import { bufferLines, type LineView } from '../io/sync-lines.js';

/**
 * Reads merge's errors file beside its merged output: both are in the dataset's order and the
 * errors file has exactly one line (`{line, id, reason, code?, message}`) per row left without an
 * explanation, so the n-th such row of the merged file is the n-th line of the errors file. Its
 * `line` is the dataset's, which differs from the merged file's where the dataset had blank
 * lines: rows are matched by order, and by id where both sides have one. A file that does not
 * match (another merge's) fails with both files and lines named. Reads one line at a time.
 */
export class ErrorsCursor {
  private readonly lines: Generator<LineView>;
  private entries = 0;

  constructor(
    readonly path: string,
    private readonly inputName: string,
  ) {
    this.lines = bufferLines(path, 64 * 1024);
  }

  /** The failure of the merged file's next row without an explanation (`line`, `id` from that file). */
  next(line: number, id: string | null): RowFailure {
    const entry = this.read();
    if (!entry) {
      throw new BatchExplainError('E_INPUT', `${this.path} ends after ${this.entries} entries, but ${this.inputName} line ${line} (id ${JSON.stringify(id)}) has no explanation either: is it the errors file of this merge?`);
    }
    const { value, at } = entry;
    if (id !== null && typeof value.id === 'string' && value.id !== id) {
      throw new BatchExplainError(
        'E_INPUT',
        `${this.path} line ${at} is for id ${JSON.stringify(value.id)}, but the matching row without an explanation, ${this.inputName} line ${line}, has id ${JSON.stringify(id)}: is it the errors file of this merge?`,
      );
    }
    const failure: RowFailure = { reason: value.reason, errorsOffset: entry.offset };
    if (typeof value.code === 'string') failure.code = value.code;
    if (typeof value.message === 'string') failure.message = value.message;
    if (typeof value.line === 'number') failure.datasetLine = value.line;
    return failure;
  }

  /** Checks that no entry is left over (call after the last row); closes the file. */
  finish(): void {
    const extra = this.read();
    if (extra) {
      this.lines.return(undefined);
      throw new BatchExplainError('E_INPUT', `${this.path} line ${extra.at} (id ${JSON.stringify(extra.value.id ?? null)}) matches no row without an explanation in ${this.inputName}: is it the errors file of this merge?`);
    }
  }

  close(): void {
    this.lines.return(undefined);
  }

  private read(): { value: { id?: unknown; reason: string; code?: unknown; message?: unknown; line?: unknown }; at: number; offset: number } | null {
    while (true) {
      const next = this.lines.next();
      if (next.done) return null;
      const v = next.value;
      const text = v.buf.toString('utf8', v.start, v.end);
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new BatchExplainError('E_INPUT', `${this.path} line ${v.line}: not JSON (an errors file of merge has {"line", "id", "reason", "message"} lines)`);
      }
      const entry = value as { reason?: unknown };
      if (value === null || typeof value !== 'object' || typeof entry.reason !== 'string') {
        throw new BatchExplainError('E_INPUT', `${this.path} line ${v.line}: field "reason" missing (an errors file of merge has {"line", "id", "reason", "message"} lines)`);
      }
      // A line that was not a JSON object is in the errors file only, not in the merged file.
      if (entry.reason === 'not_json') continue;
      this.entries++;
      return { value: value as { reason: string }, at: v.line, offset: v.offset };
    }
  }
}
