import { createWriteStream, mkdirSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { discardFileStream } from '../core/io/discard-file-stream.js';
import { optionError } from '../errors.js';
import { PARTIAL_SUFFIX, syncDirectory } from '../core/shards/shard-file.js';
import path from 'node:path';
import type { Reject, RejectCode } from '../types.js';

export interface RejectsSinkOptions {
  /** File to write (`rejects.jsonl`); written under a temporary name and renamed by `close()`. Exactly one of `path` and `stream`. */
  path?: string;
  /** Or a stream to write lines to. */
  stream?: NodeJS.WritableStream;
}

export interface RejectCounts {
  total: number;
  byCode: Partial<Record<RejectCode, number>>;
  /** The first few rejects, for a summary that names file, line and reason. */
  first: Reject[];
}

/** Rejects kept in `counts.first`. */
const FIRST_REJECTS_KEPT = 5;

export interface RejectsSink {
  /** Pass as every stage's `onReject`: writes one line and waits while the file is busy. */
  onReject: (reject: Reject) => Promise<void>;
  readonly counts: RejectCounts;
  /** Flushes and, for a file, fsyncs and renames it to its final name. */
  close(): Promise<void>;
  /** Stops and removes the unfinished file. */
  discard(): Promise<void>;
}

/**
 * The rejects file: one JSON line per refused row, `{line, id, stage, code, message, file}`,
 * in the order rows were refused, and counts by code for the summary.
 *
 * Memory: the counts, the first few rejects (for the summary), and what the file stream buffers:
 * `onReject` waits for the file to drain, so a slow disk slows the stages that refuse rows.
 * Failures: a write error (disk full, read-only folder) is thrown from the next `onReject` and
 * from `close()`, which fails the pipeline; the file is written under a temporary name and
 * renamed by `close()`, so a failed run never leaves a rejects file taken for complete.
 */
export function rejectsSink(options: RejectsSinkOptions): RejectsSink {
  if ((options?.path === undefined) === (options?.stream === undefined)) {
    throw optionError('path/stream', options, 'exactly one of path and stream');
  }
  const partial = options.path === undefined ? undefined : options.path + PARTIAL_SUFFIX;
  // The folder is made now: the file opens asynchronously, before any stage would have made it.
  if (options.path !== undefined) mkdirSync(path.dirname(path.resolve(options.path)), { recursive: true });
  const out = options.stream ?? createWriteStream(partial!, { flush: true });
  const counts: RejectCounts = { total: 0, byCode: {}, first: [] };
  let failure: Error | null = null;
  (out as NodeJS.EventEmitter).on('error', (err: Error) => (failure ??= err));
  // One wait for the file to drain, shared by every reject refused meanwhile: a wait each (concurrent
  // stages refuse many rows at once) would leave a listener each, past Node's leak warning at 11.
  let draining: Promise<void> | null = null;
  const drained = () =>
    (draining ??= new Promise<void>((resolve) => {
      const events = out as NodeJS.EventEmitter;
      const done = () => {
        events.off('drain', done);
        events.off('error', done);
        draining = null;
        resolve();
      };
      events.on('drain', done);
      events.on('error', done);
    }));

  return {
    counts,
    async onReject(reject) {
      if (failure) throw failure;
      counts.total++;
      counts.byCode[reject.code] = (counts.byCode[reject.code] ?? 0) + 1;
      if (counts.first.length < FIRST_REJECTS_KEPT) counts.first.push(reject);
      const line = JSON.stringify({
        line: reject.line,
        id: reject.id ?? null,
        stage: reject.stage,
        code: reject.code,
        message: reject.message,
        ...(reject.file === undefined ? {} : { file: reject.file }),
      });
      if (!out.write(`${line}\n`)) await drained();
      if (failure) throw failure;
    },
    async close() {
      if (partial === undefined) return;
      const file = out as import('node:fs').WriteStream;
      await new Promise<void>((resolve, reject) => {
        if (failure) return reject(failure);
        file.end(() => (failure ? reject(failure) : resolve()));
      });
      await rename(partial, options.path!);
      await syncDirectory(path.dirname(options.path!));
    },
    async discard() {
      if (partial === undefined) return;
      await discardFileStream(out as import('node:fs').WriteStream, partial);
    },
  };
}
