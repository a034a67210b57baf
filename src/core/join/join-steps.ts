// The merge's steps 4 and 5 (see pipeline/merge.ts): result lines pointed out to the threads that read and parse them, rows spliced; and the build's rejects read.
import { BatchExplainError } from '../../errors.js';
import { bufferLines } from '../io/sync-lines.js';
import { readDecimal, writeDecimal } from '../io/decimal.js';
import type { RunSorter, SortedEntry } from '../sort/run-sorter.js';
import type { ResultResolvePool } from '../results/result-resolve-pool.js';
import { readFailure } from '../results/result-batch.js';
import { copyBytes } from '../io/sync-writer.js';
import type { DatasetSplicer, MergedRow, RowSink, SpliceOutcome } from './dataset-splicer.js';
import type { StagedOutput } from '../io/staged-output.js';

/** Pointer frames per batch, in bytes. */
export const BATCH_BYTES = 64 << 10;
/** The most bytes of a result file one batch's pointers span (a thread reads them at once). */
const SPAN_BYTES = 256 << 10;

export function* mapEntries<T>(entries: Iterable<SortedEntry>, map: (e: SortedEntry) => T): Generator<T> {
  for (const e of entries) yield map(e);
}

export function readReject(e: SortedEntry): { line: number; code: string; message: string } {
  const [code, message] = JSON.parse(e.buf.toString('utf8', e.start, e.end)) as [string, string];
  return { line: e.key as number, code, message };
}

/**
 * Step 4: the joined rows, in file order. Rows with no result go straight to the outcomes; the
 * others are framed as pointers (`<source>\t<offset>\t<line>[\t<order>]`, result-resolver.ts)
 * into batches for the pool, whose threads read and parse the result lines; their outcome lines
 * are added to the outcomes as they come back. A batch points into one file and spans at most
 * {@link SPAN_BYTES} of it. Returns the number of lines that were not result lines.
 */
export async function resolveResults(rows: Iterable<SortedEntry>, pool: ResultResolvePool, outcomes: RunSorter, signal?: AbortSignal): Promise<number> {
  let bad = 0;
  let failure: unknown = null;
  const inflight: Array<Promise<void>> = [];
  const addOutcomes = ({ out, bad: b }: { out: Buffer; bad: number }) => {
    bad += b;
    for (let at = 0; at < out.length; ) {
      const nl = out.indexOf(NEWLINE_CODE, at);
      const tab = out.indexOf(TAB, at);
      outcomes.addBytes(readDecimal(out, at, tab), out, tab + 1, nl);
      at = nl + 1;
    }
    pool.recycle(out);
  };
  let batch = pool.batch();
  let used = 0;
  // The source and first offset of the batch's pointers (-1: none yet).
  let batchSrc = -1;
  let batchFrom = 0;
  const send = async () => {
    if (used === 0) return;
    if (inflight.length >= pool.capacity) await inflight.shift();
    if (failure) throw failure;
    inflight.push(pool.resolve(batch, used).then(addOutcomes, (err: unknown) => void (failure ??= err)));
    batch = pool.batch();
    used = 0;
    batchSrc = -1;
    signal?.throwIfAborted();
  };
  try {
    for (const e of rows) {
      const key = e.key as number;
      if (key === -1) {
        // `<line>\t<payload>`
        const tab = e.buf.indexOf(TAB, e.start);
        outcomes.addBytes(readDecimal(e.buf, e.start, tab), e.buf, tab + 1, e.end);
        continue;
      }
      const src = Math.floor(key / 2 ** 40);
      const offset = key - src * 2 ** 40;
      if (batchSrc !== -1 && (src !== batchSrc || offset - batchFrom > SPAN_BYTES)) await send();
      // `<source>\t<offset>\t` before the entry's `<line>[\t<order>]`.
      const room = 2 * 17 + (e.end - e.start) + 1;
      if (used + room > batch.length) await send();
      if (batchSrc === -1) {
        batchSrc = src;
        batchFrom = offset;
      }
      used = writeDecimal(batch, used, src);
      batch[used++] = TAB;
      used = writeDecimal(batch, used, offset);
      batch[used++] = TAB;
      used = copyBytes(e.buf, e.start, e.end, batch, used);
      batch[used++] = NEWLINE_CODE;
    }
    await send();
    while (inflight.length > 0) await inflight.shift();
    if (failure) throw failure;
  } finally {
    // Replies still coming are let go; their failures were caught above.
    await Promise.allSettled(inflight);
  }
  return bad;
}

const TAB = 9;
const NEWLINE_CODE = 10;

/**
 * Step 5: the outcomes sorted by line, folded into the dataset's rows, written to `out`;
 * `onRow` is told of each row (and why it has no explanation). A row with several outcomes
 * (`*<order>` entries, a resubmission's) keeps a success, then the newest.
 * Nothing is allocated for a row with an explanation: outcomes are read where they lie, rows are
 * written piece by piece.
 */
export async function writeRows(splicer: DatasetSplicer, sorted: Iterable<SortedEntry>, out: StagedOutput, onRow: (missing: MergedRow['missing']) => void, signal?: AbortSignal): Promise<void> {
  const sink: RowSink = {
    piece: (buf, start, end) => out.write(buf, start, end),
    endRow: (_line, missing) => {
      out.write(NEWLINE);
      onRow(missing);
    },
    dropRow: (_line, missing) => onRow(missing),
    get full() {
      return out.full;
    },
  };
  // Drains the output (a block of rows at a time) until `write` gets to the end of what it was asked.
  const until = async (write: () => boolean) => {
    while (!write()) {
      await out.drain();
      signal?.throwIfAborted();
    }
  };
  const ok: { json: Buffer; start: number; end: number } = { json: EMPTY, start: 0, end: 0 };
  await writeSorted();
  await until(() => splicer.writeRest(sink));

  async function writeSorted(): Promise<void> {
    const it = sorted[Symbol.iterator]();
    let e = it.next();
    try {
      while (!e.done) {
        const line = e.value.key as number;
        const { buf, start, end } = e.value;
        if (buf[start] !== STAR) {
          // The entry is a view into the run reader's buffer, which the next entry may refill:
          // the row is written before the next one is asked for.
          let outcome: SpliceOutcome = ok;
          if (buf[start] === QUOTE) {
            ok.json = buf;
            ok.start = start;
            ok.end = end;
          } else outcome = readFailure(buf, start, end);
          // Awaited only when the output is full: a promise per row cost more than the row.
          if (!splicer.writeUpTo(line, outcome, sink)) await until(() => splicer.writeUpTo(line, outcome, sink));
          e = it.next();
          continue;
        }
        // Candidates: copy the best so far (entries are views that the next one overwrites).
        let best: { ok: boolean; order: number; bytes: Buffer } | null = null;
        for (; !e.done && e.value.key === line; e = it.next()) {
          const v = e.value;
          const tab = v.buf.indexOf(9, v.start);
          const order = readDecimal(v.buf, v.start + 1, tab);
          const isOk = v.buf[tab + 1] === QUOTE;
          if (!best || (isOk && !best.ok) || (isOk === best.ok && order > best.order)) best = { ok: isOk, order, bytes: Buffer.from(v.buf.subarray(tab + 1, v.end)) };
        }
        const outcome: SpliceOutcome = best!.ok ? { json: best!.bytes } : readFailure(best!.bytes, 0, best!.bytes.length);
        await until(() => splicer.writeUpTo(line, outcome, sink));
      }
    } finally {
      it.return?.();
    }
  }
}

const NEWLINE = Buffer.from('\n');
const EMPTY = Buffer.alloc(0);
const STAR = 0x2a;
const QUOTE = 0x22;

/** The build's rejects file (`{line, code, message}` lines). */
export function* readRejects(file: string): Generator<{ line: number; code: string; message: string }> {
  for (const v of bufferLines(file)) {
    const text = v.buf.toString('utf8', v.start, v.end);
    if (!text.trim()) continue;
    let r: { line?: unknown; code?: unknown; message?: unknown };
    try {
      r = JSON.parse(text) as typeof r;
    } catch {
      throw new BatchExplainError('E_INPUT', `${file}:${v.line}: not JSON: not a rejects file of ours`);
    }
    if (typeof r.line === 'number') yield { line: r.line, code: typeof r.code === 'string' ? r.code : 'rejected', message: typeof r.message === 'string' ? r.message : '' };
  }
}
