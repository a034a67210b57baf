import { Readable } from 'node:stream';
import { open, type FileHandle } from 'node:fs/promises';
import { parquetMetadataAsync, parquetReadObjects, type AsyncBuffer, type Compressors, type FileMetaData } from 'hyparquet';
import { BatchExplainError, optionError } from '../errors.js';
import { plainValue, rowGroupSpans, rowPosition, type RowGroupSpan } from '../core/dataset/parquet-rows.js';
import { describeReadError, type ReadJsonlStats } from './read-jsonl.js';
import type { JsonlRecord, OnReject } from '../types.js';

export interface ReadParquetOptions {
  /** A Parquet file (read from its end: not stdin). */
  path: string;
  /** Name used in rejects and errors; default the path. */
  name?: string;
  /** Receives every row of a row group that cannot be decoded (E_BAD_PARQUET), with its position. */
  onReject: OnReject;
}

/**
 * The file as hyparquet's AsyncBuffer: each slice read with one `read` into one fresh buffer
 * (hyparquet's own file reader goes through a stream and two copies, garbage that raised the
 * build's peak RSS by ~6 MB).
 */
async function fileBuffer(handle: FileHandle): Promise<AsyncBuffer> {
  const byteLength = (await handle.stat()).size;
  return {
    byteLength,
    async slice(start: number, end = byteLength): Promise<ArrayBuffer> {
      const buf = Buffer.allocUnsafeSlow(Math.max(0, end - start));
      let at = 0;
      while (at < buf.length) {
        const { bytesRead } = await handle.read(buf, at, buf.length - at, start + at);
        if (bytesRead === 0) throw new Error(`the file ends at byte ${start + at}, before byte ${end} its footer points to`);
        at += bytesRead;
      }
      return buf.buffer as ArrayBuffer;
    },
  };
}

/** A Parquet file's schema (its footer's flat list of elements), for writing a file of the same columns. */
export async function parquetSchemaOf(file: string): Promise<FileMetaData['schema']> {
  const handle = await open(file);
  try {
    return (await parquetMetadataAsync(await fileBuffer(handle))).schema;
  } catch (err) {
    throw new BatchExplainError('E_INPUT', `${file}: not a readable Parquet file (cut short, or another format?): ${(err as Error).message}`, { cause: err });
  } finally {
    await handle.close();
  }
}

/**
 * Reads a Parquet dataset with hyparquet (snappy built in; gzip, zstd, brotli, lz4 from hyparquet-compressors), one
 * row group at a time, into `{line, value}` records: `line` is the row's number in the file
 * (1-based), `value` its columns. Binary columns stay bytes (`Uint8Array`), so an image embedded as
 * a `{bytes, path}` struct (Hugging Face's image feature) or a binary column goes into the request
 * without touching the disk; 64-bit integers become numbers, or text when too large to be exact.
 *
 * A row group that cannot be decoded rejects each of its rows (E_BAD_PARQUET, with row group and
 * row) and reading goes on with the next; the counts add up. A file whose footer cannot be read
 * (cut short, not Parquet) fails with E_INPUT before any row. Memory: one decoded row group (its
 * compressed bytes, its columns and its rows): the writer's row group size sets it.
 */
export function readParquet(options: ReadParquetOptions): Readable & { readonly stats: ReadJsonlStats } {
  if (typeof options?.path !== 'string' || options.path === '') throw optionError('path', options?.path, 'a Parquet file path');
  if (typeof options.onReject !== 'function') throw optionError('onReject', options.onReject, 'a function');
  const name = options.name ?? options.path;
  if (options.path === '-') throw new BatchExplainError('E_INPUT', 'a Parquet dataset is read from its end, so it cannot come from stdin: save it to a file first');
  const stats: ReadJsonlStats = { lines: 0, blank: 0, records: 0, rejected: 0, bytes: 0 };

  async function* records(): AsyncGenerator<JsonlRecord> {
    let handle: FileHandle;
    try {
      handle = await open(options.path);
    } catch (err) {
      const e = describeReadError(err, name);
      throw e instanceof BatchExplainError ? e : new BatchExplainError('E_INPUT', `${name}: ${e.message}`, { cause: err });
    }
    try {
      const file = await fileBuffer(handle);
      let metadata: FileMetaData;
      try {
        metadata = await parquetMetadataAsync(file);
      } catch (err) {
        throw new BatchExplainError('E_INPUT', `${name}: not a readable Parquet file (cut short, or another format?): ${(err as Error).message}`, { cause: err });
      }
      // hyparquet decodes snappy itself; the other codecs' decoders (WASM, a brotli dictionary) are loaded only when a column needs one.
      const codecs = new Set(metadata.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec ?? 'UNCOMPRESSED')));
      const compressors = [...codecs].some((c) => c !== 'SNAPPY' && c !== 'UNCOMPRESSED') ? (await import('hyparquet-compressors')).compressors : undefined;
      for (const span of rowGroupSpans(metadata.row_groups)) yield* group(file, metadata, span, compressors);
    } finally {
      await handle.close();
    }
  }

  /** One row group's rows; a group that cannot be decoded rejects each of its rows. */
  async function* group(file: AsyncBuffer, metadata: FileMetaData, span: RowGroupSpan, compressors: Compressors | undefined): AsyncGenerator<JsonlRecord> {
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file, metadata, rowStart: span.start, rowEnd: span.start + span.rows, ...(compressors ? { compressors } : {}), utf8: false });
      if (rows.length !== span.rows) throw new Error(`${rows.length} rows decoded where the footer says ${span.rows}`);
    } catch (err) {
      const reason = (err as Error)?.message ?? String(err);
      for (let i = 0; i < span.rows; i++) {
        stats.rejected++;
        stats.lines = span.start + i + 1;
        await options.onReject({ file: name, line: span.start + i + 1, stage: 'readParquet', code: 'E_BAD_PARQUET', message: `${rowPosition(span, i)}: the row group cannot be decoded: ${reason}` });
      }
      return;
    }
    stats.bytes += metadata.row_groups[span.group]!.columns.reduce((n, c) => n + Number(c.meta_data?.total_compressed_size ?? 0), 0);
    for (let i = 0; i < rows.length; i++) {
      const value = plainValue(rows[i]);
      rows[i] = undefined as never; // passed on: not held here
      stats.records++;
      stats.lines = span.start + i + 1;
      yield { line: span.start + i + 1, value };
    }
  }

  return Object.assign(Readable.from(records(), { objectMode: true, highWaterMark: 2 }), {
    get stats() {
      return stats;
    },
  });
}
