import { existsSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { bufferLines } from '../sync-lines.js';
import { readDecimal } from '../decimal.js';
import { bucketFile } from './table-join.js';
import { RunSorter, SortMemory, type SortedEntry } from '../sort/run-sorter.js';

/** Where the join by table left its outcomes (table-join.ts). */
export interface OutcomeBucketsOptions {
  dir: string;
  buckets: number;
  linesPerBucket: number;
  /** Threads that wrote buckets (their numbers 0 … writers - 1). */
  writers: number;
  /** Rows with a usable id (`keyed[line] === 1`): one without an outcome gets `missing`. */
  keyed: Uint8Array;
  /** The last line of the dataset. */
  lastLine: number;
  /** The payload of a keyed row with no outcome (a failure payload whose id is taken from the row). */
  missing: Buffer;
  /** Two buckets at a time, one in each half; a bucket larger than a half is sorted in it instead (spilling runs to `tmpDir`). */
  memory: Buffer;
  tmpDir: string;
  /** Told of each outcome beyond the first for a row (a resubmission's, a repeat). */
  onExtra: () => void;
}

/**
 * The outcomes of the join by table, one per keyed row in line order, bucket by bucket, as the
 * merge's output step takes them (`payload` views, valid until the next entry). A bucket is read
 * whole into one half of the memory while the rows of the one before are written from the other
 * (by the thread pool: the main thread only waits when the next is not there yet), and its
 * outcomes put in row order (an array of their places, one per row of the bucket): no sort.
 * Where a row has several, the successful one wins, then the newest. A bucket larger than half
 * the memory (outcomes far longer than the results suggested) is sorted by an external sort in
 * its half instead. Each bucket's files are removed once read.
 */
export async function* bucketOutcomes(options: OutcomeBucketsOptions): AsyncGenerator<Iterable<SortedEntry>> {
  const { linesPerBucket } = options;
  const half = Math.floor(options.memory.length / 2);
  const halves = [options.memory.subarray(0, half), options.memory.subarray(half, 2 * half)] as const;
  // Where each row's record starts (-1: none), its payload starts, and it ends, in its quarter.
  const places = new Int32Array(linesPerBucket);
  const payloads = new Int32Array(linesPerBucket);
  const ends = new Int32Array(linesPerBucket);
  const filesOf = (b: number) => Array.from({ length: options.writers }, (_, w) => bucketFile(options.dir, b, w)).filter((f) => existsSync(f));
  const removing: Array<Promise<void>> = [];
  // Gone once read: their page cache goes back to the system, and the output being written
  // takes it (on our VMs, pages never used before cost several times more to write).
  const remove = (files: string[]) => removing.push(...files.map((f) => rm(f, { force: true })));
  let files = filesOf(0);
  let next = readBucket(files, halves[0]);
  next.catch(() => {}); // awaited below
  try {
    for (let b = 0; b < options.buckets; b++) {
      const lo = 1 + b * linesPerBucket;
      const hi = Math.min(lo + linesPerBucket, options.lastLine + 1);
      const memory = halves[b % 2]!;
      const used = await next;
      const these = files;
      if (b + 1 < options.buckets) {
        files = filesOf(b + 1);
        next = readBucket(files, halves[(b + 1) % 2]!);
        next.catch(() => {});
      }
      if (used === -1) {
        yield sortedBucket(these, lo, hi, { ...options, memory });
        remove(these);
        continue;
      }
      remove(these);
      places.fill(-1);
      for (let at = 0; at < used; ) {
        const tab = nextTab(memory, at);
        const line = readDecimal(memory, at, tab);
        const end = memory.indexOf(NEWLINE, tab);
        const was = places[line - lo]!;
        if (was !== -1) options.onExtra();
        if (was === -1 || better(memory, at, was)) {
          places[line - lo] = at;
          payloads[line - lo] = nextTab(memory, tab + 1) + 1;
          ends[line - lo] = end;
        }
        at = end + 1;
      }
      yield inRowOrder(memory, places, payloads, ends, lo, hi, options);
    }
  } finally {
    await next.catch(() => {});
    await Promise.allSettled(removing);
  }
}

/** A bucket's outcomes in row order, from their places; a keyed row with none gets `missing`. */
function* inRowOrder(memory: Buffer, places: Int32Array, payloads: Int32Array, ends: Int32Array, lo: number, hi: number, options: OutcomeBucketsOptions): Generator<SortedEntry> {
  const entry: SortedEntry = { key: 0, buf: memory, start: 0, end: 0 };
  for (let line = lo; line < hi; line++) {
    const at = places[line - lo]!;
    if (at !== -1) {
      entry.buf = memory;
      entry.start = payloads[line - lo]!;
      entry.end = ends[line - lo]!;
    } else if (options.keyed[line] === 1) {
      entry.buf = options.missing;
      entry.start = 0;
      entry.end = options.missing.length;
    } else continue;
    entry.key = line;
    yield entry;
  }
}

/** Reads `files` one after the other into `memory`, on the thread pool: the bytes read, or -1 when they do not fit. */
async function readBucket(files: string[], memory: Buffer): Promise<number> {
  let used = 0;
  for (const file of files) {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      if (used + size > memory.length) return -1;
      for (let n = 1; n > 0 && used < memory.length; used += n) n = (await handle.read(memory, used, memory.length - used, null)).bytesRead;
    } finally {
      await handle.close();
    }
  }
  return used;
}

/** The tab after `at` (records' heads are short: a loop beats a native search's call). */
function nextTab(buf: Buffer, at: number): number {
  while (buf[at] !== TAB) at++;
  return at;
}

/** Whether the record at `a` wins over the one at `b` (both `<line>\t<order>\t<payload>`): a success over a failure, then the newer. */
function better(buf: Buffer, a: number, b: number): boolean {
  const aOrder = buf.indexOf(TAB, a) + 1;
  const bOrder = buf.indexOf(TAB, b) + 1;
  const aEnd = buf.indexOf(TAB, aOrder);
  const bEnd = buf.indexOf(TAB, bOrder);
  const aOk = buf[aEnd + 1] === QUOTE;
  const bOk = buf[bEnd + 1] === QUOTE;
  if (aOk !== bOk) return aOk;
  return readDecimal(buf, aOrder, aEnd) > readDecimal(buf, bOrder, bEnd);
}

/** A bucket too large for the memory: its records sorted by line (runs spilled), the best of each row kept, in row order. */
function* sortedBucket(files: string[], lo: number, hi: number, options: OutcomeBucketsOptions): Generator<SortedEntry> {
  const sorter = new RunSorter({ memoryBytes: options.memory.length, memory: SortMemory.over(options.memory), tmpDir: options.tmpDir });
  try {
    for (const file of files) {
      for (const v of bufferLines(file)) {
        const tab = v.buf.indexOf(TAB, v.start);
        sorter.addBytes(readDecimal(v.buf, v.start, tab), v.buf, tab + 1, v.end);
      }
    }
    sorter.flush();
    const entry: SortedEntry = { key: 0, buf: EMPTY, start: 0, end: 0 };
    let best: { line: number; ok: boolean; order: number; payload: Buffer } | null = null;
    let line = lo;
    const upTo = function* (end: number): Generator<SortedEntry> {
      for (; line < end; line++) {
        if (best && best.line === line) {
          entry.buf = best.payload;
          entry.end = best.payload.length;
        } else if (options.keyed[line] === 1) {
          entry.buf = options.missing;
          entry.end = options.missing.length;
        } else continue;
        entry.key = line;
        entry.start = 0;
        yield entry;
      }
    };
    for (const e of sorter.sorted()) {
      const row = e.key as number;
      const tab = e.buf.indexOf(TAB, e.start);
      const order = readDecimal(e.buf, e.start, tab);
      const ok = e.buf[tab + 1] === QUOTE;
      if (best && best.line === row) {
        options.onExtra();
        if (ok === best.ok ? order <= best.order : !ok) continue;
      } else yield* upTo(row);
      // Copied: the entry is a view the next one overwrites.
      best = { line: row, ok, order, payload: Buffer.from(e.buf.subarray(tab + 1, e.end)) };
    }
    yield* upTo(hi);
  } finally {
    sorter.dispose();
  }
}

const TAB = 9;
const NEWLINE = 10;
const QUOTE = 0x22;
const EMPTY = Buffer.alloc(0);
