import { closeSync, fdatasync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { positiveInteger } from '../core/flow/options.js';
import { syncDirectory } from '../core/shards/shard-file.js';
import { BatchExplainError } from '../errors.js';

/** One answered request, as a Batch API output line (without its newline). */
export interface DirectResult {
  customId: string;
  /** A success (HTTP 200 with a chat completion): the output file; otherwise the errors file. */
  ok: boolean;
  line: string;
}

export interface DirectResultsSinkOptions {
  /** The results folder. */
  dir: string;
  /** Lines written between two fdatasyncs. Default 256. */
  syncEveryLines?: number;
  /** Longest time a written line waits for its fdatasync, in ms. Default 1000. */
  syncEveryMs?: number;
}

export interface DirectResultsSink {
  /** `<dir>/direct-<n>.output.jsonl` and `.errors.jsonl`: created with their first line. */
  readonly outputPath: string;
  readonly errorsPath: string;
  readonly counts: { output: number; errors: number };
  /** Appends one line (a synchronous write, whole, newline included). */
  write(result: DirectResult): void;
  /** fdatasyncs and closes the files. */
  close(): Promise<void>;
}

const DEFAULTS = { syncEveryLines: 256, syncEveryMs: 1000 };

/** Result files of direct mode: `direct-<n>.output.jsonl`, `direct-<n>.errors.jsonl`. */
export const DIRECT_FILE = /^direct-(\d+)\.(output|errors)\.jsonl$/;

const datasync = promisify(fdatasync);

/**
 * Direct mode's result files, `<dir>/direct-<n>.output.jsonl` (successes) and
 * `direct-<n>.errors.jsonl` (failures), `n` one more than any there: each run writes files of
 * its own, and `merge` reads them as it reads a batch's. Lines are appended as answers come, each
 * in one write; the files are fdatasync'd every `syncEveryLines` lines or `syncEveryMs` ms. A
 * process killed mid-write leaves at most a partial last line, which the next run cuts
 * (`cutPartialLastLine`) before reading the ids. Memory: nothing held beyond the line written.
 * Fails (throws) on a write or sync error (disk full): the run stops, the lines written stay.
 */
export function directResultsSink(options: DirectResultsSinkOptions): DirectResultsSink {
  const opts = { ...DEFAULTS, ...options };
  positiveInteger('syncEveryLines', opts.syncEveryLines);
  positiveInteger('syncEveryMs', opts.syncEveryMs);
  mkdirSync(opts.dir, { recursive: true });
  let n = 0;
  for (const name of readdirSync(opts.dir)) n = Math.max(n, Number(DIRECT_FILE.exec(name)?.[1] ?? 0));
  const stem = path.join(opts.dir, `direct-${n + 1}`);
  const files = { output: { path: `${stem}.output.jsonl`, fd: -1 }, errors: { path: `${stem}.errors.jsonl`, fd: -1 } };
  const counts = { output: 0, errors: 0 };
  let unsynced = 0;
  let timer: NodeJS.Timeout | null = null;
  let syncing: Promise<void> = Promise.resolve();
  let failure: unknown = null;

  const sync = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    unsynced = 0;
    const fds = [files.output.fd, files.errors.fd].filter((fd) => fd !== -1);
    syncing = syncing.then(() => Promise.all(fds.map((fd) => datasync(fd)))).then(
      () => {},
      (err: unknown) => void (failure ??= err),
    );
  };

  return {
    outputPath: files.output.path,
    errorsPath: files.errors.path,
    counts,
    write(result) {
      if (failure) throw failure;
      const kind = result.ok ? 'output' : 'errors';
      const file = files[kind];
      if (file.fd === -1) {
        try {
          // 'ax': another run writing to the same folder would have taken this name.
          file.fd = openSync(file.path, 'ax');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          throw new BatchExplainError('E_OUTPUT', `${file.path} appeared while this run was starting: is another run writing to ${opts.dir}? Run one at a time per results folder.`);
        }
      }
      writeSync(file.fd, `${result.line}\n`);
      counts[kind]++;
      if (++unsynced >= opts.syncEveryLines) sync();
      else if (!timer) timer = setTimeout(sync, opts.syncEveryMs).unref();
    },
    async close() {
      sync();
      await syncing;
      const opened = [files.output, files.errors].filter((f) => f.fd !== -1);
      for (const f of opened) closeSync(f.fd);
      if (opened.length) await syncDirectory(opts.dir);
      if (failure) throw failure;
    },
  };
}
