import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type OpenAI from 'openai';
import { toStreamingFile } from 'openai';
import { BatchExplainError } from '../errors.js';
import { mapOrdered } from '../core/flow/map-ordered.js';
import { positiveInteger } from '../core/flow/options.js';
import { roundField, shardKey, type Manifest } from '../batch-api/manifest.js';
import { QuotaGate } from '../batch-api/quota.js';
import { isTokenLimitError } from '../batch-api/batch-refresh.js';
import { withRetry } from '../batch-api/retry.js';
import { isFileNotReadyError, waitForFileProcessed, type FileReadyOptions } from '../batch-api/file-ready.js';
import { FirstBatchGate, isBodilessRefusal, refusedCreateError } from '../batch-api/first-batch.js';
import type { ShardRecord, Stage } from '../types.js';
import { callSignal } from '../core/flow/call-signal.js';
import { describeApiError } from '../errors.js';
import { findBatchForFile, findUpload } from '../batch-api/upload-lookups.js';

export interface UploadShardsOptions {
  client: OpenAI;
  /** Every upload and batch is recorded here before it counts as done. */
  manifest: Manifest;
  /** The batch endpoint: `/v1/chat/completions` (OpenAI, local) or `/chat/completions` (Azure). */
  endpoint: string;
  /** Put in each batch's metadata with the shard's sha256, to find a batch again after a crash. */
  runId: string;
  /** Shards uploaded at once. Default 2: the next shard is built meanwhile. */
  workers?: number;
  /** `expires_after` for input files, in seconds, where the provider takes it (Azure: 14–30 days). Default 14 days; null leaves it out. */
  fileExpirySeconds?: number | null;
  /** Retries of a transient failure. Default 6. */
  retries?: number;
  /** First wait before another try of a failed API call, doubling up to 60 s. Default 1 s (tests pass a few ms). */
  minRetryDelayMs?: number;
  /**
   * Holds batch creation back within the job's quota limits (see QuotaGate). Default: a gate
   * without limits, which still pauses creation after a `token_limit_exceeded`.
   */
  gate?: QuotaGate;
  /** What the provider takes in one input file: a shard over it is never uploaded (`E_INPUT`). Default no check. */
  limits?: { bytes: number; requests: number };
  /** The model or deployment of the lines: named in the message when the provider refuses it. */
  model?: string;
  /**
   * Checked once, before the job's first upload, so that an unknown model stops the job before
   * anything is uploaded (see `modelChecker`: OpenAI and the local server).
   */
  checkModel?: () => Promise<void>;
  /** Waits between looks at an upload not processed yet (Azure keeps them pending a while). Default 1 s doubling to 15 s. */
  processing?: Pick<FileReadyOptions, 'pollMs' | 'maxPollMs' | 'timeoutMs'>;
  /**
   * Told of each piece of a shard read to be sent (its bytes). The pieces are garbage once sent, and
   * little else is allocated meanwhile, so V8 leaves them for tens of MB: the CLI collects them
   * every few MB (bin/heap.ts).
   */
  onRead?: (bytes: number) => void;
  /** Told of each step, for progress and logs. */
  onEvent?: (event: { type: 'uploading' | 'uploaded' | 'processing' | 'created' | 'found' | 'skipped' | 'retry' | 'requeued'; shard: ShardRecord; detail?: string }) => void;
}

export interface SubmittedShard {
  shard: ShardRecord;
  fileId: string;
  batchId: string;
  /** Already submitted by an earlier run, per the manifest. */
  skipped: boolean;
}

/** 14 days: within both OpenAI's (1 h–30 d) and Azure's (14–30 d) range for `expires_after`. */
export const DEFAULT_FILE_EXPIRY_SECONDS = 14 * 24 * 3600;

/**
 * Stage: shard records → submitted shards. `workers` shards at a time are uploaded (streamed from
 * disk) and turned into batches, while the source builds the next ones. See {@link shardSubmitter}.
 *
 * Memory: `workers` shard records and their uploads' stream buffers (a shard is never read into
 * memory). Failures: network errors, 429 and 5xx are retried with backoff (Retry-After honoured);
 * a refusal on the token quota re-queues the shard; anything else (a 4xx, retries exhausted)
 * fails the stage with a one-line `E_API` error, every step done so far kept in the manifest.
 */
export function uploadShards(options: UploadShardsOptions): Stage<ShardRecord, SubmittedShard> {
  const { submitOne, workers } = shardSubmitter(options);
  return async function* uploadShardsStage(source, options) {
    yield* mapOrdered(source, workers, submitOne, options?.signal);
  };
}

/**
 * Submits one shard: uploads it (unless an upload of it is on record), waits for the quota gate,
 * creates its batch and records each step in the manifest.
 *
 * Idempotent: a shard whose batch the manifest already holds is skipped. `batches.create` is
 * never blindly retried (the API has no idempotency key): when a create fails in a way that may
 * have created the batch anyway (network, timeout, 5xx), or a run stopped between a create and
 * its record, the batches are listed and matched by input file before anything is created again.
 *
 * Upload goes ahead of the gate: each of the `workers` uploads its shard, then waits for room,
 * so at most `workers` input files wait on the provider for their batch (an Azure resource holds
 * 500 files without expiry). A create refused with `token_limit_exceeded` is recorded
 * (`requeued`), and the same input file is tried again once the gate lets it through.
 */
export function shardSubmitter(options: UploadShardsOptions): { submitOne: (shard: ShardRecord, signal: AbortSignal) => Promise<SubmittedShard>; workers: number } {
  const o = { workers: 2, fileExpirySeconds: DEFAULT_FILE_EXPIRY_SECONDS, retries: 6, ...options };
  positiveInteger('workers', o.workers);
  const { client, manifest } = o;
  const gate = o.gate ?? new QuotaGate({ client, manifest, retries: o.retries, minRetryDelayMs: o.minRetryDelayMs });
  const first = new FirstBatchGate();

  async function upload(shard: ShardRecord, signal: AbortSignal): Promise<string> {
    const size = (await stat(shard.path)).size;
    if (size !== shard.bytes) throw new BatchExplainError('E_INPUT', `shard ${shard.path} is ${size} bytes, the manifest says ${shard.bytes}: it changed since it was built`);
    const limits = o.limits;
    if (limits && (size > limits.bytes || shard.rows > limits.requests)) {
      throw new BatchExplainError('E_INPUT', `shard ${shard.path} (${size} bytes, ${shard.rows} requests) is over the provider's limit of ${limits.bytes} bytes and ${limits.requests} requests per input file: not uploaded; build it again with a smaller --max-bytes / --max-requests`);
    }
    // Named after its content: an upload that finished after its run was killed, before its id was
    // recorded, is found by that name and reused rather than uploaded again (an Azure resource
    // holds 500 files at most).
    const filename = `${path.basename(shard.path, '.jsonl')}.${shard.sha256.slice(0, 16)}.jsonl`;
    if (manifest.state.shards.get(shardKey(shard))?.uploadName === filename) {
      const earlier = await findUpload(client, filename, shard.bytes, signal);
      if (earlier) {
        await manifest.append({ type: 'uploaded', sha256: shard.sha256, ...roundField(shard), file_id: earlier, bytes: shard.bytes });
        o.onEvent?.({ type: 'uploaded', shard, detail: `${earlier} (an earlier run's upload)` });
        return earlier;
      }
    } else await manifest.append({ type: 'uploading', sha256: shard.sha256, ...roundField(shard), filename });
    o.onEvent?.({ type: 'uploading', shard });
    // A fresh stream per attempt: a streamed body cannot be replayed by the client.
    const file = await withRetry(
      async (attempt) => {
        // A failed attempt may have stored the file all the same.
        const stored = attempt > 1 ? await findUpload(client, filename, shard.bytes, signal) : null;
        if (stored) return { id: stored, bytes: shard.bytes };
        return client.files.create(
          {
            file: toStreamingFile(o.onRead ? told(createReadStream(shard.path), o.onRead) : createReadStream(shard.path), filename, { type: 'application/jsonl' }),
            purpose: 'batch',
            ...(o.fileExpirySeconds ? { expires_after: { anchor: 'created_at', seconds: o.fileExpirySeconds } } : {}),
          },
          callSignal(signal),
        );
      },
      { retries: o.retries, minTimeoutMs: o.minRetryDelayMs, signal, onRetry: (err, _attempt, waitMs) => o.onEvent?.({ type: 'retry', shard, detail: retryDetail('upload', err, waitMs) }) },
    );
    await manifest.append({ type: 'uploaded', sha256: shard.sha256, ...roundField(shard), file_id: file.id, bytes: file.bytes });
    // Processed at upload (OpenAI's files are): no look needed before the batch.
    if ((file as { status?: string }).status === 'processed') await manifest.append({ type: 'file_processed', sha256: shard.sha256, ...roundField(shard), file_id: file.id });
    o.onEvent?.({ type: 'uploaded', shard, detail: file.id });
    return file.id;
  }

  async function submitOne(shard: ShardRecord, signal: AbortSignal): Promise<SubmittedShard> {
    const known = manifest.state.shards.get(shardKey(shard));
    if (known?.batchId) {
      o.onEvent?.({ type: 'skipped', shard });
      return { shard, fileId: known.fileId ?? '', batchId: known.batchId, skipped: true };
    }
    let fileId = known?.fileId;
    if (fileId) {
      // Uploaded by an earlier run that may have created the batch before it stopped (batches
      // that failed on the token quota are not it: the shard waits for a new one).
      const found = await findBatchForFile(client, fileId, signal, requeuedBatches(), o.minRetryDelayMs);
      if (found) return record(shard, fileId, found, 'found');
      const exists = await withRetry(() => client.files.retrieve(fileId!, callSignal(signal)), { retries: o.retries, minTimeoutMs: o.minRetryDelayMs, signal }).then(
        () => true,
        (err: { status?: number }) => {
          if (err?.status === 404) return false;
          throw err;
        },
      );
      if (!exists) fileId = undefined;
    }
    // An unknown model or deployment must stop the job before a second upload: where the model can
    // be checked (checkModel), it is, once, before any upload; where not (Azure), the job's first
    // batch is made before any other shard is uploaded.
    if (!fileId && manifest.state.batches.size === 0 && o.checkModel) await (modelChecked ??= o.checkModel());
    const pioneer = !fileId && !o.checkModel && manifest.state.batches.size === 0 && (await first.enter());
    try {
      fileId ??= await upload(shard, signal);
      const result = await createWhenReady(shard, fileId, signal);
      if (pioneer) first.done();
      return result;
    } catch (err) {
      if (pioneer) first.failed(err);
      throw err;
    }
  }

  let modelChecked: Promise<void> | undefined;

  /** Waits for the upload to be processed (once: recorded), then creates its batch, within the quota gate. */
  async function createWhenReady(shard: ShardRecord, fileId: string, signal: AbortSignal): Promise<SubmittedShard> {
    await processed(shard, fileId, signal);
    for (;;) {
      const release = await gate.admit(shard, signal);
      try {
        return await record(shard, fileId, await createOnce(shard, fileId, signal), 'created');
      } catch (err) {
        // Processed again after all (the provider's view changes): wait for it, then create again.
        if (isFileNotReadyError(err)) {
          await waitForFileProcessed(client, fileId, processingOptions(shard, signal));
          continue;
        }
        if (isBodilessRefusal(err)) throw refusedCreateError(shard.index, o.model, err as Error);
        if (!isTokenLimitError(err)) throw err;
        const message = (err as Error).message;
        await manifest.append({ type: 'requeued', sha256: shard.sha256, ...roundField(shard), reason: 'token_limit_exceeded', message });
        const times = manifest.state.shards.get(shardKey(shard))?.requeues ?? 1;
        o.onEvent?.({ type: 'requeued', shard, detail: `create refused${times > 1 ? ` (${times} times)` : ''}: ${message}` });
        gate.tokenLimitHit();
      } finally {
        release();
      }
    }
  }

  function processingOptions(shard: ShardRecord, signal: AbortSignal): FileReadyOptions {
    return {
      ...o.processing,
      signal,
      retries: o.retries,
      onWait: (status, waited) => o.onEvent?.({ type: 'processing', shard, detail: `${status} for ${Math.round(waited / 1000)} s` }),
    };
  }

  /** Resolves once the shard's upload is processed by the provider, recorded in the manifest so a resume does not look again. */
  async function processed(shard: ShardRecord, fileId: string, signal: AbortSignal): Promise<void> {
    if (manifest.state.shards.get(shardKey(shard))?.processedFileId === fileId) return;
    await waitForFileProcessed(client, fileId, processingOptions(shard, signal));
    await manifest.append({ type: 'file_processed', sha256: shard.sha256, ...roundField(shard), file_id: fileId });
  }

  function requeuedBatches(): Set<string> {
    return new Set([...manifest.state.batches.values()].filter((b) => b.requeued).map((b) => b.batchId));
  }

  async function record(shard: ShardRecord, fileId: string, batchId: string, how: 'created' | 'found'): Promise<SubmittedShard> {
    await manifest.append({ type: 'batch', sha256: shard.sha256, ...roundField(shard), batch_id: batchId, input_file_id: fileId });
    o.onEvent?.({ type: how, shard, detail: batchId });
    return { shard, fileId, batchId, skipped: false };
  }

  /** Creates the batch exactly once: after a failure that may have created it, look before trying again. */
  async function createOnce(shard: ShardRecord, fileId: string, signal: AbortSignal): Promise<string> {
    const created = await withRetry<string | { refused: Error }>(
      async (attempt) => {
        if (attempt > 1) {
          const found = await findBatchForFile(client, fileId, signal, requeuedBatches(), o.minRetryDelayMs);
          if (found) return found;
        }
        try {
          const batch = await client.batches.create(
            {
              input_file_id: fileId,
              endpoint: o.endpoint as '/v1/chat/completions',
              completion_window: '24h',
              metadata: { run_id: o.runId, shard_sha256: shard.sha256, shard_index: String(shard.index), ...(shard.round ? { shard_round: String(shard.round) } : {}) },
            },
            { maxRetries: 0, ...callSignal(signal) },
          );
          return batch.id;
        } catch (err) {
          // Refused on the quota (also as a 429): not retried here; the shard waits at the gate.
          if (isTokenLimitError(err)) return { refused: err as Error };
          throw err;
        }
      },
      { retries: o.retries, minTimeoutMs: o.minRetryDelayMs, signal, onRetry: (err, _attempt, waitMs) => o.onEvent?.({ type: 'retry', shard, detail: retryDetail('create', err, waitMs) }) },
    );
    if (typeof created !== 'string') throw created.refused;
    return created;
  }

  return { submitOne, workers: o.workers };
}

/** A retry in words: the call, its failure and the wait before the next try. */
function retryDetail(call: string, err: unknown, waitMs: number): string {
  return `${call}: ${describeApiError(err)}; next try in ${(waitMs / 1000).toFixed(waitMs < 10_000 ? 1 : 0)} s`;
}

/** `pieces`, each told to `onRead` (its size) as it is taken. */
async function* told(pieces: AsyncIterable<Buffer>, onRead: (bytes: number) => void): AsyncGenerator<Buffer> {
  for await (const piece of pieces) {
    onRead(piece.length);
    yield piece;
  }
}
