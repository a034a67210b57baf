import path from 'node:path';
import { bufferLines } from '../sync-lines.js';
import { SyncFileWriter } from '../sync-writer.js';
import type { LiteralRange } from '../json/id-key.js';
import { IdTable, idHashes, NOT_FOUND, type IdTableMemory } from './id-table.js';
import { writeDecimal } from '../decimal.js';
import { ResultScanner } from '../results/result-scan.js';
import { outcomePayload } from '../results/result-batch.js';
import { resultFromLine } from '../../stages/read-results.js';
import { resultIdAt } from '../../stages/index-results.js';
import { datasetKeyAt, type Aborting } from './join-keys.js';

/**
 * The merge's join by table, the part that reads the results (merge-table.ts wires it): each
 * result line's id is looked up in the table of dataset ids, and the line of a row is parsed
 * into its outcome, written as `<row line>\t<order>\t<payload>\n` (payloads as in
 * result-batch.ts) to the bucket of its row's line range. The results are cut into chunks of
 * whole lines that threads take one at a time; each thread writes buckets of its own, so no
 * byte goes through another thread. A bucket holds rows `[1 + b × linesPerBucket, …)`: the
 * output step reads one bucket at a time and puts its outcomes in row order in memory.
 */

/** A piece of one file (a result file, the dataset): the lines that start in `[from, to)`. */
export interface FileChunk {
  src: number;
  from: number;
  to: number;
}

export interface TableJoinJob {
  table: IdTableMemory;
  /** Result files by source index, oldest first (`order`: their rank, newer results win). */
  sources: ReadonlyArray<{ path: string; order: number }>;
  chunks: readonly FileChunk[];
  /** The next chunk to take (shared by the threads: Atomics). */
  next: Int32Array;
  /** The folder of the buckets. */
  dir: string;
  /** This thread's number (its buckets' names). */
  worker: number;
  linesPerBucket: number;
  /** The JSON field of the explanation in the answers. */
  field?: string;
}

export interface TableJoinCounts {
  /** Lines that are not result lines (no custom_id), and result lines damaged past parsing. */
  bad: number;
  /** Result lines whose id is in no dataset row. */
  unmatched: number;
  /** Outcomes written. */
  outcomes: number;
}

/** Chunks of about this many bytes: enough for two threads to share evenly. */
export const CHUNK_BYTES = 8 << 20;

/** The chunks of files of these sizes. */
export function fileChunks(sizes: readonly number[], chunkBytes = CHUNK_BYTES): FileChunk[] {
  const chunks: FileChunk[] = [];
  sizes.forEach((size, src) => {
    for (let from = 0; from < size; from += chunkBytes) chunks.push({ src, from, to: Math.min(size, from + chunkBytes) });
  });
  return chunks;
}

/** The file of bucket `b` written by thread `worker`. */
export function bucketFile(dir: string, b: number, worker: number): string {
  return path.join(dir, `bucket-${String(b).padStart(5, '0')}-${worker}.txt`);
}


/** The keyed rows of one chunk of the dataset: their lines counted from the chunk's first. */
export interface ChunkIds {
  /** The chunk's index. */
  chunk: number;
  /** Lines that start in the chunk (blank ones and rows without an id too). */
  lines: number;
  /** Keyed rows: `keys[i]`, `checks[i]` (idHashes) and `rels[i]` (1 for the chunk's first line), for i < count. */
  count: number;
  keys: Float64Array;
  checks: Int32Array;
  rels: Int32Array;
}

/**
 * The ids of the rows of the dataset's chunks, taken until none are left, each told to `onChunk`
 * (a thread posts it to the main one, which puts them in its table in order).
 */
export function readChunkIds(file: string, chunks: readonly FileChunk[], next: Int32Array, onChunk: (ids: ChunkIds) => void, signal?: Aborting): void {
  const id: LiteralRange = { buf: EMPTY, start: 0, end: 0 };
  const hashes = { key: 0, check: 0 };
  const readBuffer = Buffer.allocUnsafeSlow(1 << 20);
  for (let c = Atomics.add(next, 0, 1); c < chunks.length; c = Atomics.add(next, 0, 1)) {
    signal?.throwIfAborted();
    const range = chunks[c]!;
    // About 600 bytes a row in the datasets we know; grown when more.
    let room = Math.max(1024, Math.ceil((range.to - range.from) / 256));
    let ids: ChunkIds = { chunk: c, lines: 0, count: 0, keys: new Float64Array(room), checks: new Int32Array(room), rels: new Int32Array(room) };
    for (const v of bufferLines(file, readBuffer, range)) {
      ids.lines = v.line;
      if (v.line % 4096 === 0) signal?.throwIfAborted();
      if (!datasetKeyAt(v, id)) continue;
      if (ids.count === room) {
        room *= 2;
        ids = { ...ids, keys: grown(ids.keys, new Float64Array(room)), checks: grown(ids.checks, new Int32Array(room)), rels: grown(ids.rels, new Int32Array(room)) };
      }
      idHashes(id.buf, id.start, id.end, hashes);
      ids.keys[ids.count] = hashes.key;
      ids.checks[ids.count] = hashes.check;
      ids.rels[ids.count++] = v.line;
    }
    onChunk(ids);
  }
}

function grown<T extends Float64Array | Int32Array>(from: T, into: T): T {
  into.set(from);
  return into;
}

/** Takes chunks until none are left; `signal` is looked at every few thousand lines. */
export function joinResultChunks(job: TableJoinJob, signal?: Aborting): TableJoinCounts {
  const table = IdTable.over(job.table);
  const scanner = new ResultScanner(job.field);
  const buckets = new BucketWriters(job.dir, job.worker);
  const counts: TableJoinCounts = { bad: 0, unmatched: 0, outcomes: 0 };
  const id: LiteralRange = { buf: EMPTY, start: 0, end: 0 };
  const hashes = { key: 0, check: 0 };
  const head = Buffer.allocUnsafe(64);
  const readBuffer = Buffer.allocUnsafeSlow(1 << 20);
  let seen = 0;
  try {
    for (let c = Atomics.add(job.next, 0, 1); c < job.chunks.length; c = Atomics.add(job.next, 0, 1)) {
      signal?.throwIfAborted();
      const chunk = job.chunks[c]!;
      const source = job.sources[chunk.src]!;
      for (const v of bufferLines(source.path, readBuffer, chunk)) {
        if (++seen % 4096 === 0) signal?.throwIfAborted();
        if (v.end === v.start) continue;
        if (!resultIdAt(v.buf, v.start, v.end, id)) {
          counts.bad++;
          continue;
        }
        idHashes(id.buf, id.start, id.end, hashes);
        const line = table.find(hashes.key, hashes.check);
        if (line === NOT_FOUND) {
          counts.unmatched++;
          continue;
        }
        // `<line>\t<order>\t`: the order of a result, newest last (the source's rank, then its place).
        let at = writeDecimal(head, 0, line);
        head[at++] = TAB;
        at = writeDecimal(head, at, source.order * 2 ** 40 + v.offset);
        head[at++] = TAB;
        const out = buckets.for(Math.floor((line - 1) / job.linesPerBucket));
        const scanned = scanner.scan(v.buf, v.start, v.end);
        if (scanned !== -1) {
          out.write(head, 0, at);
          out.write(scanner.output, 0, scanned);
        } else {
          const r = resultFromLine(v.buf.toString('utf8', v.start, v.end), NOWHERE, job.field);
          if ('bad' in r) counts.bad++;
          const payload = Buffer.from(outcomePayload(r, () => `${source.path} at byte ${v.offset}`));
          out.write(head, 0, at);
          out.write(payload, 0, payload.length);
        }
        out.write(NEWLINE, 0, 1);
        counts.outcomes++;
      }
    }
    buckets.close();
  } catch (err) {
    buckets.abandon();
    throw err;
  }
  return counts;
}

const NOWHERE = { source: '', order: 0 };
const EMPTY = Buffer.alloc(0);
const NEWLINE = Buffer.from('\n');
const TAB = 9;


/** One thread's bucket files, each written through a 32 KiB buffer of its own (opened when first written). */
class BucketWriters {
  readonly #dir: string;
  readonly #worker: number;
  readonly #writers: SyncFileWriter[] = [];

  constructor(dir: string, worker: number) {
    this.#dir = dir;
    this.#worker = worker;
  }

  for(b: number): SyncFileWriter {
    return (this.#writers[b] ??= new SyncFileWriter(bucketFile(this.#dir, b, this.#worker), { chunkBytes: 32 << 10 }));
  }

  close(): void {
    let failure: unknown = null;
    for (const w of this.#writers) {
      try {
        w?.close();
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure) throw failure;
  }

  /** Closes the files, unflushed (the merge removes the folder). */
  abandon(): void {
    for (const w of this.#writers) w?.abandon();
  }
}
