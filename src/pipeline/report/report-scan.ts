import { closeSync, openSync, statSync } from 'node:fs';
import { BatchExplainError } from '../../errors.js';
import { bufferLines } from '../../core/io/sync-lines.js';
import { ErrorsCursor } from '../../core/quality/errors-cursor.js';
import { datasetKey } from '../../core/join/join-keys.js';
import { readLineAt } from '../../core/io/read-line-at.js';
import { ReportTally, type ReportSummary } from '../../core/quality/report-tally.js';
import { QualityChecker, type QualityCheckOptions, type QualityRow } from '../../core/quality/quality-checker.js';

export interface ScanOptions extends QualityCheckOptions {
  /** The merged file (merge's output). A file: rows are read back by position. */
  input: string;
  /** merge's errors file, read alongside for the reasons of rows without an explanation. */
  errors?: string;
  signal?: AbortSignal;
  /** Every row, in order, with where its line lies (byte offset and length, newline excluded). */
  onRow?: (row: QualityRow, offset: number, length: number) => void;
}

export interface ScanResult {
  summary: ReportSummary;
  checker: QualityChecker;
  /** Bytes read. */
  bytes: number;
}

/** Rows between two looks at the event loop (signals, a server's requests). */
const YIELD_EVERY = 4096;

/**
 * One pass over a merged file: every non-blank line is a row, checked (`QualityChecker`, the
 * `qualityCheck` stage's core, each row's reference being its byte offset) and tallied; rows
 * without an explanation take their reason from the errors file read alongside. Lines are read
 * synchronously into one reused 1 MiB buffer (grown for a longer line). Memory: that buffer, one
 * row, the duplicate table and the tally (see `ReportTally`). Fails on I/O errors, an errors file
 * that does not match, and a stop signal.
 */
export async function scanMerged(options: ScanOptions): Promise<ScanResult> {
  const { input, errors, signal, onRow, ...checks } = options;
  const checker = new QualityChecker(checks);
  const tally = new ReportTally();
  let size: number;
  try {
    const s = statSync(input);
    if (!s.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
    size = s.size;
  } catch (err) {
    throw new BatchExplainError('E_INPUT', `${input}: cannot be read as a merged file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const cursor = errors ? new ErrorsCursor(errors, input) : null;
  const lines = bufferLines(input);
  let rows = 0;
  try {
    for (const v of lines) {
      let start = v.start;
      // A UTF-8 BOM at the start of the file.
      if (v.offset === 0 && v.buf[start] === 0xef && v.buf[start + 1] === 0xbb && v.buf[start + 2] === 0xbf) start += 3;
      if (isBlank(v.buf, start, v.end)) continue;
      let value: unknown;
      try {
        value = JSON.parse(v.buf.toString('utf8', start, v.end));
      } catch {
        value = undefined; // a line merge copied unchanged: a row without an explanation
      }
      const row = checker.check({ line: v.line, ref: v.offset, value });
      if (row.explanation === null && cursor) row.failure = cursor.next(row.line, row.id);
      tally.add(row);
      onRow?.(row, v.offset, v.end - v.start);
      if (++rows % YIELD_EVERY === 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        signal?.throwIfAborted();
      }
    }
    cursor?.finish();
  } finally {
    lines.return(undefined);
    cursor?.close();
  }
  const fd = openSync(input, 'r');
  try {
    const summary = tally.finish(checker.duplicates, (offset) => firstRow(fd, offset, checker.options.field));
    return { summary, checker, bytes: size };
  } finally {
    closeSync(fd);
  }
}

/** A row read back by its offset: its id, explanation (for the repeated ones) and nothing else. */
export function firstRow(fd: number, offset: number, field: string): { id: string | null; explanation: string | null } {
  const text = readLineAt(fd, offset);
  try {
    const v = JSON.parse((text ?? '').replace(/^\uFEFF/, '')) as Record<string, unknown>;
    return { id: datasetKey(v), explanation: typeof v[field] === 'string' ? (v[field] as string) : null };
  } catch {
    return { id: null, explanation: null };
  }
}

function isBlank(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = buf[i];
    if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false;
  }
  return true;
}
