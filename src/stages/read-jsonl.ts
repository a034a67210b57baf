import { createReadStream } from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import split2 from 'split2';
import { BatchExplainError, optionError } from '../errors.js';
import { positiveInteger } from '../core/flow/options.js';
import { alignToLines } from '../core/io/line-aligner.js';
import type { JsonlRecord, OnReject } from '../types.js';

export interface ReadJsonlOptions {
  /** A file path, or `-` for stdin. Exactly one of `path` and `stream`. */
  path?: string;
  /** An already open byte stream (a pipe, a socket, a test's string). */
  stream?: NodeJS.ReadableStream;
  /** Name used in rejects and errors; default the path, `-` for stdin, `<stream>` otherwise. */
  name?: string;
  /** Receives every line that is not valid JSON; awaited, so a slow sink slows the reader. */
  onReject: OnReject;
  /**
   * Longest line accepted, in bytes. Default 256 MiB: under V8's longest string (~512 Mi
   * characters), so a row with a text of tens of MB passes while a file without newlines fails
   * with a clear error instead of crashing the process.
   */
  maxLineBytes?: number;
  /** Read chunk for files. Default 64 KiB (re-cut into 16 KiB pieces at newlines before split2). */
  readChunkBytes?: number;
}

export interface ReadJsonlStats {
  /** Physical lines seen, blank ones included. */
  lines: number;
  blank: number;
  /** Lines parsed into records. */
  records: number;
  /** Lines rejected as invalid JSON. */
  rejected: number;
  /** Bytes read so far (for progress: against the file's size). */
  bytes: number;
}

const DEFAULTS = {
  maxLineBytes: 256 * 1024 * 1024,
  readChunkBytes: 64 * 1024,
};

const BOM = '\uFEFF';

/**
 * Reads a JSONL file or stream into `{line, value}` records.
 *
 * - Lines are split by split2 (`\n` or `\r\n`), decoded as UTF-8 across chunk boundaries;
 *   chunks are first re-cut at newlines so a line of tens of MB costs one pass, not hundreds.
 * - A UTF-8 BOM at the start is dropped; blank lines are skipped but counted.
 * - A line that is not JSON goes to `onReject` as `E_BAD_JSON` with its line number.
 * - Memory: one line at a time (bounded by `maxLineBytes`) plus one read chunk.
 * - Fails (destroys the stream) only on I/O errors and on a line over `maxLineBytes`.
 */
export function readJsonl(options: ReadJsonlOptions): Readable & { readonly stats: ReadJsonlStats } {
  const opts = { ...DEFAULTS, ...options };
  if ((opts.path === undefined) === (opts.stream === undefined)) {
    throw optionError('path/stream', { path: opts.path, stream: opts.stream ? '<stream>' : undefined }, 'exactly one of path and stream');
  }
  if (typeof opts.onReject !== 'function') throw optionError('onReject', opts.onReject, 'a function');
  positiveInteger('maxLineBytes', opts.maxLineBytes);
  positiveInteger('readChunkBytes', opts.readChunkBytes);
  const name = opts.name ?? (opts.path === undefined ? '<stream>' : opts.path);
  const stats: ReadJsonlStats = { lines: 0, blank: 0, records: 0, rejected: 0, bytes: 0 };

  const input =
    opts.stream ?? (opts.path === '-' ? process.stdin : createReadStream(opts.path!, { highWaterMark: opts.readChunkBytes }));
  const aligned = alignToLines({
    maxLineBytes: opts.maxLineBytes,
    pieceBytes: 16 * 1024,
    onTooLong: (line) => tooLong(name, line, opts.maxLineBytes),
  });
  // split2 hands us each line's text; numbering happens here, in order, before any parsing.
  const lines = split2('\n', (text: string) => ({ line: ++stats.lines, text }));
  // Counted as chunks go by (a listener beside pipeline's own: the flow and backpressure stay pipeline's).
  (input as NodeJS.ReadableStream).on('data', (chunk: Buffer | string) => void (stats.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length));
  pipeline(input, aligned, lines, () => {});

  async function* records(): AsyncGenerator<JsonlRecord> {
    const iterator = (lines as AsyncIterable<{ line: number; text: string }>)[Symbol.asyncIterator]();
    try {
      while (true) {
        let next: IteratorResult<{ line: number; text: string }>;
        try {
          next = await iterator.next();
        } catch (err) {
          // Only reading errors are described as the dataset's; a failing rejects sink speaks for itself.
          throw describeReadError(err, name);
        }
        if (next.done) return;
        const { line, text: raw } = next.value;
        const unBom = line === 1 && raw.startsWith(BOM) ? raw.slice(1) : raw;
        const text = unBom.endsWith('\r') ? unBom.slice(0, -1) : unBom;
        // Blank is JSON's own whitespace only (as the merge counts rows): a line of NBSPs or
        // vertical tabs is a bad row, rejected, not skipped.
        if (JSON_BLANK.test(text)) {
          stats.blank++;
          continue;
        }
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (err) {
          stats.rejected++;
          await opts.onReject({
            file: name,
            line,
            stage: 'readJsonl',
            code: 'E_BAD_JSON',
            message: `invalid JSON: ${(err as Error).message}; the line starts ${excerpt(text)}`,
          });
          continue;
        }
        stats.records++;
        yield { line, value };
      }
    } finally {
      await iterator.return?.();
    }
  }

  return Object.assign(Readable.from(records(), { objectMode: true, highWaterMark: 16 }), {
    get stats() {
      return stats;
    },
  });
}

function excerpt(text: string): string {
  const flat = text.slice(0, 200).replace(/\s+/g, ' ');
  return flat.length > 60 ? `${flat.slice(0, 60)}…` : flat;
}

function tooLong(name: string, line: number, maxLineBytes: number): Error {
  return new BatchExplainError('E_LINE_TOO_LONG', `${name}: line ${line} is longer than ${maxLineBytes} bytes (is it JSONL?)`);
}

/** An I/O error reading the dataset, as a coded error naming the file (shared by the readers of every format). */
export function describeReadError(err: unknown, name: string): Error {
  const e = err as NodeJS.ErrnoException;
  if (e instanceof BatchExplainError) return e;
  if (e?.code === 'ENOENT') return new BatchExplainError('E_INPUT', `${name}: no such file`, { cause: err });
  if (e?.code === 'EISDIR') return new BatchExplainError('E_INPUT', `${name}: is a directory, not a JSONL file`, { cause: err });
  if (e?.code === 'EACCES') return new BatchExplainError('E_INPUT', `${name}: permission denied`, { cause: err });
  return err instanceof Error ? err : new Error(String(err));
}

const JSON_BLANK = /^[ \t\r]*$/;
