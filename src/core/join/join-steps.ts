// The merge's steps 4 and 5 (see pipeline/merge.ts): result lines read front to back and parsed, rows spliced; and the build's rejects read.
import { BatchExplainError } from '../../errors.js';
import { bufferLines, type LineView } from '../io/sync-lines.js';
import { readDecimal } from '../io/decimal.js';
import type { RunSorter, SortedEntry } from '../sort/run-sorter.js';
import type { ResultParsePool } from '../results/result-parse-pool.js';
import { failurePayload, FRAME_MAX_EXTRA, frameResultLine, readFailure } from '../results/result-batch.js';
import type { ResultSource } from '../results/result-line.js';
import type { DatasetSplicer, MergedRow, RowSink, SpliceOutcome } from './dataset-splicer.js';
import type { StagedOutput } from '../io/staged-output.js';

/** Framed result lines per parse batch, in bytes. */
export const BATCH_BYTES = 256 << 10;

export function* mapEntries<T>(entries: Iterable<SortedEntry>, map: (e: SortedEntry) => T): Generator<T> {
  for (const e of entries) yield map(e);
}

export function readReject(e: SortedEntry): { line: number; code: string; message: string } {
  const [code, message] = JSON.parse(e.buf.toString('utf8', e.start, e.end)) as [string, string];
  return { line: e.key as number, code, message };
}

/**
 * Step 4: the joined rows, in file order, against the result files read front to back. Rows
 * with no result go straight to the outcomes; the result lines of the others are framed into
 * batches for the parse pool, whose replies are added to the outcomes as they come. Returns the
 * number of lines that were not result lines.
 */
export async function resolveResults(rows: Iterable<SortedEntry>, sources: Array<ResultSource & { size: number }>, pool: ResultParsePool, outcomes: RunSorter, signal?: AbortSignal): Promise<number> {
  let bad = 0;
  let failure: unknown = null;
  const inflight: Array<Promise<void>> = [];
  const addOutcomes = ({ out, bad: b }: { out: Buffer; bad: number }) => {
    bad += b;
    for (let at = 0; at < out.length; ) {
      const nl = out.indexOf(10, at);
      const tab = out.indexOf(9, at);
      outcomes.addBytes(readDecimal(out, at, tab), out, tab + 1, nl);
      at = nl + 1;
    }
    pool.recycle(out);
  };
  let batch = pool.batch();
  let used = 0;
  const send = async () => {
    if (used === 0) return;
    if (inflight.length >= pool.capacity) await inflight.shift();
    if (failure) throw failure;
    inflight.push(pool.parse(batch, used).then(addOutcomes, (err: unknown) => void (failure ??= err)));
    batch = pool.batch();
    used = 0;
    signal?.throwIfAborted();
  };
  // One scanner per result file, at the line last asked for.
  const scanners = new Map<number, { lines: Generator<LineView>; at: LineView | null }>();
  try {
    for (const e of rows) {
      const tab = e.buf.indexOf(9, e.start);
      const hasTab = tab !== -1 && tab < e.end;
      const line = readDecimal(e.buf, e.start, hasTab ? tab : e.end);
      if (e.key === -1) {
        outcomes.addBytes(line, e.buf, tab + 1, e.end);
        continue;
      }
      const key = e.key as number;
      const src = Math.floor(key / 2 ** 40);
      const offset = key - src * 2 ** 40;
      const order = hasTab ? readDecimal(e.buf, tab + 1, e.end) : null;
      let s = scanners.get(src);
      if (!s) scanners.set(src, (s = { lines: bufferLines(sources[src]!.path), at: null }));
      while (!s.at || s.at.offset < offset) {
        const next = s.lines.next();
        if (next.done) break;
        s.at = next.value;
      }
      if (!s.at || s.at.offset !== offset) {
        bad++;
        const failure = failurePayload('', 'no_result', null, `its result line is gone from ${sources[src]!.path} at byte ${offset} (was the file changed during the merge?)`);
        outcomes.add(line, order === null ? failure : `*${order}\t${failure}`);
        continue;
      }
      let size = frameResultLine(batch, used, line, src, offset, order, s.at.buf, s.at.start, s.at.end);
      if (size === -1) {
        await send();
        if (s.at.end - s.at.start + FRAME_MAX_EXTRA > batch.length) batch = Buffer.allocUnsafeSlow(s.at.end - s.at.start + FRAME_MAX_EXTRA);
        size = frameResultLine(batch, used, line, src, offset, order, s.at.buf, s.at.start, s.at.end);
      }
      used += size;
      if (used >= BATCH_BYTES - 4096) await send();
    }
    await send();
    while (inflight.length > 0) await inflight.shift();
    if (failure) throw failure;
  } finally {
    for (const s of scanners.values()) s.lines.return(undefined);
    // Replies still coming are let go; their failures were caught above.
    await Promise.allSettled(inflight);
  }
  return bad;
}

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
