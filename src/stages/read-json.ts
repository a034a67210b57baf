import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import parser from 'stream-json/parser.js';
import streamArray from 'stream-json/streamers/stream-array.js';
import streamObject from 'stream-json/streamers/stream-object.js';
import { BatchExplainError, optionError } from '../errors.js';
import { positiveInteger } from '../core/flow/options.js';
import { documentErrorMessage, jsonShape, type JsonShape } from '../core/dataset/json-document.js';
import { describeReadError, type ReadJsonlStats } from './read-jsonl.js';
import type { JsonlRecord, OnReject } from '../types.js';

export interface ReadJsonOptions {
  /** A file path, or `-` for stdin. Exactly one of `path` and `stream`. */
  path?: string;
  stream?: NodeJS.ReadableStream;
  /** Name used in rejects and errors; default the path. */
  name?: string;
  /** Receives the record where the document breaks off or is malformed (E_BAD_JSON). */
  onReject: OnReject;
  /** Read chunk for files. Default 64 KiB. */
  readChunkBytes?: number;
}

const DEFAULTS = { readChunkBytes: 64 * 1024 };

/**
 * Reads a dataset that is one JSON document, streamed with stream-json: an array of rows (each
 * element a record, numbered from 1 as its `line`), or an object of rows keyed by id (each entry
 * a record with its `key`, which validateRow takes as the id when the row has none). A value that
 * is not an object passes on, for validateRow to reject with its record number.
 *
 * A document that breaks off or is malformed ends the reading with one E_BAD_JSON reject naming
 * the record where it broke: the records before it go on, and the counts add up. A document of
 * another shape (a number, a string; JSONL named `.json` is read as its first object) is one reject.
 *
 * Memory: one record at a time (stream-json assembles each element, never the document), plus
 * the parser's read chunk. Fails only on I/O errors.
 */
export function readJson(options: ReadJsonOptions): Readable & { readonly stats: ReadJsonlStats } {
  const opts = { ...DEFAULTS, ...options };
  if ((opts.path === undefined) === (opts.stream === undefined)) throw optionError('path/stream', opts.path, 'exactly one of path and stream');
  if (typeof opts.onReject !== 'function') throw optionError('onReject', opts.onReject, 'a function');
  positiveInteger('readChunkBytes', opts.readChunkBytes);
  const name = opts.name ?? opts.path ?? '<stream>';
  const stats: ReadJsonlStats = { lines: 0, blank: 0, records: 0, rejected: 0, bytes: 0 };
  const input = opts.stream ?? (opts.path === '-' ? process.stdin : createReadStream(opts.path!, { highWaterMark: opts.readChunkBytes }));

  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of input as AsyncIterable<Buffer | string>) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        stats.bytes += buf.length;
        yield buf;
      }
    } catch (err) {
      const e = describeReadError(err, name);
      throw e instanceof BatchExplainError ? e : new BatchExplainError('E_INPUT', `${name}: ${e.message}`, { cause: err });
    }
  }

  async function* records(): AsyncGenerator<JsonlRecord> {
    const source = chunks();
    const head: Buffer[] = [];
    let shape: ReturnType<typeof jsonShape> = null;
    while (shape === null) {
      const next = await source.next();
      if (next.done) return; // an empty document: no rows
      head.push(next.value);
      shape = jsonShape(head.length === 1 ? next.value : Buffer.concat(head));
    }
    if (typeof shape === 'object') {
      stats.rejected++;
      await source.return(undefined);
      await opts.onReject({ file: name, line: 1, stage: 'readJson', code: 'E_BAD_JSON', message: `a JSON dataset is an array of rows or an object of rows keyed by id; this document starts with ${shape.other}` });
      return;
    }
    const kind: JsonShape = shape;
    // The parser is given the document without its BOM.
    const first = Buffer.concat(head);
    head.length = 0;
    head.push(first[0] === 0xef && first[1] === 0xbb && first[2] === 0xbf ? first.subarray(3) : first);
    const streamer = kind === 'array' ? streamArray.asStream() : streamObject.asStream();
    const done = pipeline(
      Readable.from((async function* () {
        yield* head;
        yield* source;
      })()),
      // Whole values only: no string or number chunks beside them (half the tokens; streamArray/streamObject need no more).
      parser.asStream({ packValues: true, streamValues: false }),
      streamer,
    );
    done.catch(() => {}); // seen through the iteration below
    let index = 0;
    try {
      for await (const item of streamer as AsyncIterable<{ key: number | string; value: unknown }>) {
        index++;
        stats.records++;
        stats.lines = index;
        const value = fresh(item.value);
        yield kind === 'object' ? { line: index, key: String(item.key), value } : { line: index, value };
      }
      await done;
    } catch (err) {
      if (err instanceof BatchExplainError) throw err;
      stats.rejected++;
      await opts.onReject({ file: name, line: index + 1, stage: 'readJson', code: 'E_BAD_JSON', message: documentErrorMessage(kind, index + 1, stats.bytes, err) });
    } finally {
      streamer.destroy();
    }
  }

  return Object.assign(Readable.from(records(), { objectMode: true, highWaterMark: 16 }), {
    get stats() {
      return stats;
    },
  });
}

/**
 * The row with strings of its own. stream-json's values are slices of the parser's text buffer,
 * so each row in flight kept the parser's text alive: the build's peak RSS was ~25 MB above the
 * JSONL path's (bench/RESULTS.md, formats). A JSON round trip of the row
 * costs about what JSONL's parse of its line does.
 */
function fresh(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? JSON.parse(JSON.stringify(value)) : value;
}
