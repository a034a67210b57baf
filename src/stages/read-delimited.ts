import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse, type Options as CsvOptions } from 'csv-parse';
import { BatchExplainError, optionError } from '../errors.js';
import { positiveInteger } from '../core/flow/options.js';
import { DelimitedRows, type DelimitedOutcome, type RecordInfo } from '../core/dataset/delimited-rows.js';
import { describeReadError, type ReadJsonlStats } from './read-jsonl.js';
import type { JsonlRecord, OnReject, Reject } from '../types.js';

export interface ReadDelimitedOptions {
  /** A file path, or `-` for stdin. Exactly one of `path` and `stream`. */
  path?: string;
  stream?: NodeJS.ReadableStream;
  /** Name used in rejects and errors; default the path. */
  name?: string;
  /** `,` (CSV, default) or a tab (TSV). */
  delimiter?: ',' | '\t';
  /** Receives records that do not fit the header or cannot be parsed (E_BAD_CSV), with their line. */
  onReject: OnReject;
  /** Longest record accepted, in bytes (a quote never closed would swallow the rest of the file). Default 64 MiB. */
  maxRecordBytes?: number;
  /** Read chunk for files. Default 64 KiB. */
  readChunkBytes?: number;
}

const DEFAULTS = { delimiter: ',' as const, maxRecordBytes: 64 * 1024 * 1024, readChunkBytes: 64 * 1024 };

/**
 * Reads a CSV or TSV dataset with csv-parse into `{line, value}` records, `value` an object of the
 * header's column names (every value a string), `line` the line the record starts on. Quoted
 * fields may hold the delimiter, quotes and newlines; a UTF-8 BOM is dropped; empty lines are
 * skipped and counted as blank; a stray quote inside an unquoted field is text.
 *
 * A record with another number of fields than the header, or one csv-parse refuses (a bad
 * quote never closed), is an E_BAD_CSV reject with its line, and reading goes on. Memory: one record (at most
 * `maxRecordBytes`) and the parser's chunk. Fails on I/O errors, a header naming a column twice
 * and a record over `maxRecordBytes`.
 */
export function readDelimited(options: ReadDelimitedOptions): Readable & { readonly stats: ReadJsonlStats } {
  const opts = { ...DEFAULTS, ...options };
  if ((opts.path === undefined) === (opts.stream === undefined)) throw optionError('path/stream', opts.path, 'exactly one of path and stream');
  if (typeof opts.onReject !== 'function') throw optionError('onReject', opts.onReject, 'a function');
  if (opts.delimiter !== ',' && opts.delimiter !== '\t') throw optionError('delimiter', opts.delimiter, 'a comma or a tab');
  positiveInteger('maxRecordBytes', opts.maxRecordBytes);
  positiveInteger('readChunkBytes', opts.readChunkBytes);
  const name = opts.name ?? opts.path ?? '<stream>';
  const stats: ReadJsonlStats = { lines: 0, blank: 0, records: 0, rejected: 0, bytes: 0 };
  const input = opts.stream ?? (opts.path === '-' ? process.stdin : createReadStream(opts.path!, { highWaterMark: opts.readChunkBytes }));
  const rows = new DelimitedRows();
  // The parser runs ahead of the consumer: records are numbered and taken apart on its side, in
  // its order, and the records it refused wait here, each with the number of records before it.
  let parsed = 0;
  const skipped: Array<{ after: number; reject: Pick<Reject, 'line' | 'message'> }> = [];
  const parser = parse({
    delimiter: opts.delimiter,
    bom: true,
    // csv-parse's types expect on_record to return a record; it may return any value, passed on as it is.
    on_record: ((fields: string[], info: RecordInfo) => ({ seq: ++parsed, info, outcome: rows.take(fields, info) })) as unknown as CsvOptions['on_record'],
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: opts.maxRecordBytes,
    // A stray quote inside a field is text: without it, csv-parse's strict mode loses track of
    // quoting after one and swallows the records that follow.
    relax_quotes: true,
    on_skip: (err: Error | undefined) => {
      const e = err as Error & { lines?: number };
      const line = rows.failedAt(e.lines ?? 0);
      skipped.push({ after: parsed, reject: { line, message: `line ${line}: ${e.message}` } });
    },
  });
  (input as NodeJS.ReadableStream).on('data', (chunk: Buffer | string) => void (stats.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length));
  const done = pipeline(input, parser);
  done.catch(() => {}); // seen through the iteration below

  async function* records(): AsyncGenerator<JsonlRecord> {
    const flushSkipped = async (before: number) => {
      while (skipped.length > 0 && skipped[0]!.after < before) {
        stats.rejected++;
        await opts.onReject({ file: name, stage: 'readDelimited', code: 'E_BAD_CSV', ...skipped.shift()!.reject });
      }
    };
    try {
      for await (const { seq, info, outcome: out } of parser as AsyncIterable<{ seq: number; info: RecordInfo; outcome: DelimitedOutcome }>) {
        await flushSkipped(seq);
        if (out.kind === 'fatal') throw new BatchExplainError('E_INPUT', `${name}: ${out.message}`);
        stats.lines = info.lines;
        stats.blank = info.empty_lines;
        if (out.kind === 'header') continue;
        if (out.kind === 'reject') {
          stats.rejected++;
          await opts.onReject({ file: name, line: out.line, stage: 'readDelimited', code: 'E_BAD_CSV', message: out.message });
          continue;
        }
        stats.records++;
        yield { line: out.line, value: out.value };
      }
      await done;
      await flushSkipped(Infinity);
    } catch (err) {
      if (err instanceof BatchExplainError) throw err;
      const e = describeReadError(err, name);
      throw e instanceof BatchExplainError ? e : new BatchExplainError('E_INPUT', `${name}: ${e.message}`, { cause: err });
    }
  }

  return Object.assign(Readable.from(records(), { objectMode: true, highWaterMark: 16 }), {
    get stats() {
      return stats;
    },
  });
}
