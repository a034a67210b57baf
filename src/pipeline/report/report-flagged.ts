import { closeSync, openSync, renameSync, rmSync } from 'node:fs';
import { PARTIAL_SUFFIX } from '../../core/shards/shard-file.js';
import { SyncFileWriter } from '../../core/io/sync-writer.js';
import { bufferLines } from '../../core/io/sync-lines.js';
import { FLAG_BIT, flagNames } from '../../core/quality/quality.js';
import type { QualityRow } from '../../core/quality/quality-checker.js';
import { firstRow } from './report-scan.js';

export interface FlaggedSummary {
  path: string;
  /** Lines written: one per row to regenerate. */
  ids: number;
  /** Flagged rows left out because they have no id (a line that is not a row, an id missing). */
  withoutId: number;
  /** Rows without an explanation left out because resubmitting would not help (not_sent, duplicate_id, pending). */
  notResubmittable: number;
}

/** Flags fit in 7 bits: a late first row is kept as one number, offset × 128 + flags, and sorted as such. */
const FLAG_SPACE = 128;

/**
 * Writes the ids of flagged rows, one JSON line each (`{"id": "...", "flags": [...]}`, the ids
 * file `resubmit --ids` reads), in the merged file's order. Rows are written as the scan meets
 * them, to a side file with their offsets; the first row of a repeated explanation is only known
 * to be a duplicate when the second one comes, so those are kept (one number each) and merged
 * in by offset at the end, their ids read back by position. Then temporary name, fsync, rename.
 */
export class FlaggedIdsWriter {
  private readonly entriesPath: string;
  private readonly entries: SyncFileWriter;
  private late = new Float64Array(1024);
  private lateCount = 0;
  private ids = 0;
  private withoutId = 0;
  private notResubmittable = 0;

  constructor(
    readonly path: string,
    private readonly options: { mask: number; leftOutReasons: readonly string[]; field: string },
  ) {
    this.entriesPath = `${path}.entries${PARTIAL_SUFFIX}`;
    this.entries = new SyncFileWriter(this.entriesPath);
  }

  add(row: QualityRow, offset: number): void {
    if (row.duplicate?.count === 2 && this.options.mask & FLAG_BIT.duplicate_text) {
      if (this.lateCount === this.late.length) {
        const bigger = new Float64Array(this.late.length * 2);
        bigger.set(this.late);
        this.late = bigger;
      }
      this.late[this.lateCount++] = row.duplicate.firstRef * FLAG_SPACE + row.duplicate.firstFlags;
    }
    if ((row.flags & this.options.mask) === 0) return;
    if (row.id === null) {
      this.withoutId++;
      return;
    }
    if (row.explanation === null && row.failure && this.options.leftOutReasons.includes(row.failure.reason)) {
      this.notResubmittable++;
      return;
    }
    this.entries.writeString(`${offset}\t${JSON.stringify({ id: row.id, flags: flagNames(row.flags) })}\n`);
    this.ids++;
  }

  /** Merges in the first rows of repeated explanations and puts the file in place. */
  finish(input: string): FlaggedSummary {
    this.entries.close();
    const late = this.late.subarray(0, this.lateCount).sort();
    const partial = this.path + PARTIAL_SUFFIX;
    const out = new SyncFileWriter(partial);
    const fd = openSync(input, 'r');
    let j = 0;
    const lateOffset = (k: number) => Math.floor(late[k]! / FLAG_SPACE);
    // A first row not written when met (none of its flags then selected): written now, as a duplicate.
    const emitLate = (k: number) => {
      const firstFlags = late[k]! % FLAG_SPACE;
      if (firstFlags & this.options.mask) return; // met and handled then (written, or counted without an id)
      const { id } = firstRow(fd, lateOffset(k), this.options.field);
      if (id === null) {
        this.withoutId++;
        return;
      }
      out.writeString(`${JSON.stringify({ id, flags: flagNames(firstFlags | FLAG_BIT.duplicate_text) })}\n`);
      this.ids++;
    };
    try {
      for (const v of bufferLines(this.entriesPath)) {
        const text = v.buf.toString('utf8', v.start, v.end);
        const tab = text.indexOf('\t');
        const offset = Number(text.slice(0, tab));
        let entry = text.slice(tab + 1);
        while (j < late.length && lateOffset(j) < offset) emitLate(j++);
        if (j < late.length && lateOffset(j) === offset) {
          j++;
          const e = JSON.parse(entry) as { id: string; flags: string[] };
          entry = JSON.stringify({ id: e.id, flags: flagNames(FLAG_BIT.duplicate_text | e.flags.reduce((m, f) => m | (FLAG_BIT[f as keyof typeof FLAG_BIT] ?? 0), 0)) });
        }
        out.writeString(`${entry}\n`);
      }
      while (j < late.length) emitLate(j++);
      out.close({ sync: true });
    } catch (err) {
      out.abandon();
      rmSync(partial, { force: true });
      throw err;
    } finally {
      closeSync(fd);
      rmSync(this.entriesPath, { force: true });
    }
    renameSync(partial, this.path);
    return { path: this.path, ids: this.ids, withoutId: this.withoutId, notResubmittable: this.notResubmittable };
  }

  /** Stops without a file (the scan failed). */
  abandon(): void {
    this.entries.abandon();
    rmSync(this.entriesPath, { force: true });
  }
}
