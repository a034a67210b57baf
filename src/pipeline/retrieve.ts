import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type OpenAI from 'openai';
import { PARTIAL_SUFFIX } from '../core/shards/shard-file.js';
import { requeuedShards, TERMINAL_STATUSES, type BatchState, type DownloadedFile, type Manifest, type ShardState } from '../batch-api/manifest.js';
import { withRetry, type RetryOptions } from '../batch-api/retry.js';
import { callSignal } from '../core/flow/call-signal.js';
import { refreshBatch } from '../batch-api/batch-refresh.js';
import { deleteInputFile, type DeleteInputFiles } from '../batch-api/input-files.js';
import { BatchExplainError } from '../errors.js';


export interface RetrieveOptions {
  client: OpenAI;
  manifest: Manifest;
  /** Folder for `<batch>.output.jsonl` and `<batch>.errors.jsonl`. */
  outDir: string;
  /** Poll until every batch is terminal. */
  wait?: boolean;
  /** First wait between polls, growing by half each time up to `maxPollMs`. Default 5 s. */
  pollMs?: number;
  /** Default 60 s (Azure asks for at least 60 s between status calls). */
  maxPollMs?: number;
  /** Batches looked at once. Default 4. */
  concurrency?: number;
  retries?: number;
  /** First wait before another try of a failed API call, doubling up to 60 s. Default 1 s (tests pass a few ms). */
  minRetryDelayMs?: number;
  /**
   * Which input files to delete from the provider once their batch is finished and downloaded:
   * `completed` (every finished batch's), `failed` (of batches that failed, not counting those
   * re-queued after a token-quota failure, whose file is reused), or `never`. Default `completed`.
   */
  deleteInputFiles?: DeleteInputFiles;
  signal?: AbortSignal;
  /** Told of the batches as the manifest has them: at the start, as each batch's status comes back, and after each round. */
  onProgress?: (batches: BatchState[]) => void;
  /** Told before each retry of an API call: its failure and the wait (for a visible log). */
  onRetry?: RetryOptions['onRetry'];
  /** Told of every file downloaded. */
  onDownload?: (batchId: string, kind: 'output' | 'error', file: DownloadedFile) => void;
}

export interface RetrieveSummary {
  batches: BatchState[];
  /** Batches still running (without --wait). */
  pending: string[];
  /** Line counts that disagree with request_counts: results may be missing. */
  warnings: string[];
  /** Shards whose batch failed on the token quota and that wait for a new batch (submit sends them). */
  requeued: ShardState[];
}

/**
 * For every batch in the manifest: refreshes its status and, once it is terminal (completed,
 * expired, failed, cancelled), streams its output and error files to disk (temporary name, then
 * rename), counts their lines against `request_counts`, and records it. A file downloaded whole
 * before is not downloaded again. Transient failures are retried; with `wait`, polls with
 * backoff until every batch is terminal.
 *
 * A batch that failed on the token quota re-queues its shard (see refreshBatch): its failure is
 * not the shard's result, and `requeued` lists the shards for `submit` to send again. Input files
 * of finished batches are deleted as `deleteInputFiles` says, and the deletion recorded.
 */
export async function retrieve(options: RetrieveOptions): Promise<RetrieveSummary> {
  const { client, manifest } = options;
  await mkdir(options.outDir, { recursive: true });
  const warnings: string[] = [];
  let poll = options.pollMs ?? 5000;
  const maxPoll = options.maxPollMs ?? 60_000;
  const retry = { retries: options.retries ?? 6, minTimeoutMs: options.minRetryDelayMs, ...(options.signal ? { signal: options.signal } : {}), ...(options.onRetry ? { onRetry: options.onRetry } : {}) };
  /** Batches whose input file could not be deleted: tried once per call. */
  const undeletable = new Set<string>();

  // What the manifest knows already, before the first status comes back.
  options.onProgress?.([...manifest.state.batches.values()]);
  while (true) {
    // Done and downloaded, unless a downloaded file is gone or changed (it is downloaded again).
    const todo: BatchState[] = [];
    for (const b of manifest.state.batches.values()) if (!isDone(b) || !(await downloadsIntact(b))) todo.push(b);
    const queue = [...todo];
    const work = async () => {
      for (let b = queue.shift(); b; b = queue.shift()) await refresh(b);
    };
    const refresh = async (b: BatchState) => {
      const batch = await refreshBatch(client, manifest, b, retry);
      // Told as each batch is seen, not once a round: a round of many downloads takes a while.
      options.onProgress?.([...manifest.state.batches.values()]);
      const counts = batch.request_counts ?? undefined;
      if (!TERMINAL_STATUSES.has(batch.status)) return;
      const downloaded: { output?: DownloadedFile; error?: DownloadedFile } = {};
      for (const [kind, id, suffix] of [
        ['output', batch.output_file_id, 'output'],
        ['error', batch.error_file_id, 'errors'],
      ] as const) {
        if (!id) continue;
        // Absolute: the job's later commands may run from another folder.
        const target = path.resolve(options.outDir, `${b.batchId}.${suffix}.jsonl`);
        const earlier = b.downloaded?.[kind];
        const file =
          (await alreadyDownloaded(earlier, target)) ??
          (await withRetry(() => download(client, id, target, options.signal), retry).catch((err: { status?: number }) => {
            // Downloaded before, since lost here, and gone there too (files expire; the local server keeps nothing of a merged job).
            if (earlier && err?.status === 404) {
              throw new BatchExplainError('E_INPUT', `${earlier.path} (${kind} of ${b.batchId}) was downloaded before and is gone, and the provider no longer has ${id}: restore the file, or send the dataset again as a new job (--out-dir NEW)`);
            }
            throw err;
          }));
        downloaded[kind] = file;
        options.onDownload?.(b.batchId, kind, file);
      }
      const c = counts;
      if (c && batch.status !== 'failed') {
        const out = downloaded.output?.lines ?? 0;
        const err = downloaded.error?.lines ?? 0;
        if (out < (c.completed ?? 0)) warnings.push(`${b.batchId}: the output file has ${out} lines, request_counts.completed says ${c.completed}`);
        if (batch.status !== 'cancelled' && out + err < (c.total ?? 0)) {
          warnings.push(`${b.batchId}: ${out} output + ${err} error lines, request_counts.total says ${c.total}`);
        }
      }
      await manifest.append({ type: 'downloaded', batch_id: b.batchId, ...downloaded });
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, todo.length) }, work));
    // Input files of finished batches, this round's and any an interrupted run left undeleted.
    for (const b of manifest.state.batches.values()) {
      if (!isDone(b) || undeletable.has(b.batchId)) continue;
      const deleted = await deleteInputFile(client, manifest, b, options.deleteInputFiles ?? 'completed', retry);
      if (deleted.warning) {
        warnings.push(deleted.warning);
        undeletable.add(b.batchId);
      }
    }
    const all = [...manifest.state.batches.values()];
    options.onProgress?.(all);
    const pending = all.filter((b) => !isDone(b)).map((b) => b.batchId);
    if (!options.wait || pending.length === 0) return { batches: all, pending, warnings, requeued: requeuedShards(manifest.state) };
    await sleep(poll, options.signal);
    poll = Math.min(maxPoll, Math.round(poll * 1.5));
  }
}

/** Whether every file recorded as downloaded for `b` is there, of its recorded size. */
async function downloadsIntact(b: BatchState): Promise<boolean> {
  for (const f of [b.downloaded?.output, b.downloaded?.error]) {
    if (f && (await stat(f.path).then((s) => s.size, () => -1)) !== f.bytes) return false;
  }
  return true;
}

function isDone(b: BatchState): boolean {
  return b.downloaded !== undefined && TERMINAL_STATUSES.has(b.status ?? '');
}

async function alreadyDownloaded(recorded: DownloadedFile | undefined, target: string): Promise<DownloadedFile | null> {
  if (!recorded || path.resolve(recorded.path) !== target) return null;
  const size = await stat(target).then((s) => s.size, () => -1);
  return size === recorded.bytes ? recorded : null;
}

/** Streams a file's content to `target` through a temporary name, counting lines and bytes on the way. */
async function download(client: OpenAI, fileId: string, target: string, signal?: AbortSignal): Promise<DownloadedFile> {
  const partial = target + PARTIAL_SUFFIX;
  let bytes = 0;
  let lines = 0;
  let last = 10;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      last = chunk[chunk.length - 1] ?? last;
      cb(null, chunk);
    },
  });
  try {
    const res = await client.files.content(fileId, callSignal(signal));
    if (!res.body) throw new Error(`file ${fileId}: empty response`);
    await pipeline(Readable.fromWeb(res.body as WebReadableStream), count, createWriteStream(partial, { flush: true }));
    await rename(partial, target);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
  // A last line without its newline still counts.
  if (bytes > 0 && last !== 10) lines++;
  return { path: target, lines, bytes };
}

/** Waits `ms`, or less if aborted; its abort listener goes when the wait ends (a poll every few seconds for days would pile them up). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal ? { signal } : {});
}
