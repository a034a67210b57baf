import { randomUUID } from 'node:crypto';
import { digestOf, jobSettings } from './job/job-settings.js';
import { datasetChange, datasetChangedMessage, datasetFingerprint, isEmptyStart, nothingConfirmed, otherJobMessage } from './job/job.js';
import { noRequestsError } from './no-requests.js';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BatchExplainError } from '../errors.js';
import { readDataset } from './read-dataset.js';
import { jobMapping, type JobMapping } from '../core/dataset/mapping.js';
import { formatOf } from '../core/dataset/formats.js';
import { rejectsSink } from '../stages/rejects-sink.js';
import { uploadShards, type SubmittedShard, type UploadShardsOptions } from '../stages/upload-shards.js';
import type { ShardRecord } from '../types.js';
import { buildSummary, checkDataset, readingOf, countShard, prepareOutDir, requestStages, type BuildOptions, type BuildSummary } from './build.js';
import { byteBudgetBatcher } from '../stages/byte-budget-batcher.js';
import { isUnfinished, Manifest, requeuedShards, roundField, shardKey, type ManifestOptions } from '../batch-api/manifest.js';
import type { Provider } from './providers.js';
import { modelChecker } from '../batch-api/first-batch.js';
import { checkShardLimits, PROVIDER_FILE_LIMITS } from '../core/shards/provider-limits.js';
import { QuotaGate, type QuotaEvent, type QuotaLimits } from '../batch-api/quota.js';
import { readAhead } from '../core/flow/read-ahead.js';
import type { RetryOptions } from '../batch-api/retry.js';

export interface SubmitOptions extends Omit<BuildOptions, 'output' | 'outDir' | 'overwrite' | 'datasetStream' | 'provider'>, QuotaLimits {
  provider: Provider;
  /** Folder for shards and, by default, the manifest and rejects. */
  outDir: string;
  /** Default `<outDir>/manifest.jsonl`. */
  manifestPath?: string;
  /** Shards uploaded at once. Default 2. */
  workers?: number;
  fileExpirySeconds?: number | null;
  retries?: number;
  /** First wait before another try of a failed API call, doubling up to 60 s. Default 1 s (tests pass a few ms). */
  minRetryDelayMs?: number;
  onUpload?: UploadShardsOptions['onEvent'];
  /** Told of each piece of a shard read for its upload (UploadShardsOptions.onRead). */
  onUploadRead?: UploadShardsOptions['onRead'];
  /** Told before each retry of a status call while shards are held back (uploads' retries are `onUpload` events). */
  onRetry?: RetryOptions['onRetry'];
  /** Told when a shard is held back by the quota limits. */
  onQuota?: (event: QuotaEvent) => void;
  /**
   * Told of every shard of the round once its build is complete (or found complete), e.g. to
   * print the cost estimate; uploads are not held for it.
   */
  onBuilt?: (shards: ShardRecord[]) => void;
  /**
   * Awaited with every shard of the round once its build is complete (or found complete), before
   * anything is uploaded: uploads wait for the whole build. Throwing stops the submit with
   * nothing uploaded; the build is kept as complete, so a re-run reuses it (e.g. `--max-cost`).
   */
  beforeUpload?: (shards: ShardRecord[]) => void | Promise<void>;
  /** First wait between status polls (while held back, or waiting); grows by half up to `maxPollMs`. Default 5 s. */
  pollMs?: number;
  /** Default 60 s. */
  maxPollMs?: number;
  /** Passed to the manifest (see {@link ManifestOptions.onAppend}). */
  manifestOptions?: ManifestOptions;
  /**
   * A resubmission: round N ≥ 1 builds `dataset` (the rows to retry) into shards named
   * `rN_batch_00001.jsonl`… of the same job. `jobDataset` is then the job's own dataset, whose
   * settings the manifest checks.
   */
  round?: number;
  jobDataset?: string;
}

export interface SubmitSummary {
  /** The build, or null when an earlier run's complete build was reused. */
  build: BuildSummary | null;
  runId: string;
  manifestPath: string;
  submitted: SubmittedShard[];
}

/** The `mapping` of the run event: how the dataset is read, so later commands need not be told. */
function recordedMapping(options: SubmitOptions): { mapping?: JobMapping } {
  const mapping = jobMapping(formatOf(options.jobDataset ?? options.dataset, options.format), options.mapping);
  return mapping === undefined ? {} : { mapping };
}

/**
 * build + upload + create batches, streaming: shard N is uploaded while shard N+1 is built.
 * Every step is recorded in the manifest first, so a re-run after a crash (kill -9 included)
 * creates no second batch for a shard and goes on with what is missing. A build that finished
 * in an earlier run is not redone when its shard files are intact.
 *
 * With quota limits (`maxActiveBatches`, `maxEnqueuedTokens`) batches are created as earlier ones
 * finish (QuotaGate), while the build goes on ahead; submit returns once every shard has a batch
 * past validation. Shards whose batch failed on the token quota, in this run or an earlier one,
 * get a new batch from the same input file.
 */
export async function submit(options: SubmitOptions): Promise<SubmitSummary> {
  const manifestPath = options.manifestPath ?? path.join(options.outDir, 'manifest.jsonl');
  checkShardLimits(options.provider.name, options.maxBytes, options.maxRequests);
  const manifest = await Manifest.open(manifestPath, options.manifestOptions);
  try {
    const settings = jobSettings(options);
    const config = digestOf(settings);
    if (manifest.state.run && manifest.state.run.config !== config) {
      // A start that recorded nothing but itself (it failed before a shard was written) holds nothing: it makes way.
      if (!isEmptyStart(manifest.state)) throw new BatchExplainError('E_OPTION', otherJobMessage(manifestPath, manifest.state, settings, options.templateSource && path.basename(options.templateSource)));
      await manifest.reset();
    }
    const run = manifest.state.run;
    const runId = run?.run_id ?? randomUUID();
    const jobDataset = options.jobDataset ?? options.dataset;
    if (run) {
      const change = await datasetChange(run, jobDataset);
      if (change) throw new BatchExplainError('E_OPTION', datasetChangedMessage(change, options.outDir));
      // Nothing confirmed by the provider yet: the job may move to another base URL (a first one that did not answer).
      if (options.provider.baseUrl !== undefined && options.provider.baseUrl !== run.base_url && nothingConfirmed(manifest.state)) {
        await manifest.append({ ...withoutTime(run), base_url: options.provider.baseUrl, ...(options.provider.apiVersion === undefined ? {} : { api_version: options.provider.apiVersion }) });
      }
    } else {
      await checkDataset(options.dataset);
      const fingerprint = await datasetFingerprint(jobDataset);
      await manifest.append({
        type: 'run',
        run_id: runId,
        config,
        provider: options.provider.name,
        endpoint: options.provider.endpoint,
        model: options.model,
        dataset: options.dataset,
        settings,
        ...(options.templateSource === undefined ? {} : { prompt: path.basename(options.templateSource) }),
        ...(options.provider.baseUrl === undefined ? {} : { base_url: options.provider.baseUrl }),
        ...(options.provider.apiVersion === undefined ? {} : { api_version: options.provider.apiVersion }),
        ...(options.provider.localDataDir === undefined ? {} : { local_data_dir: options.provider.localDataDir }),
        ...(fingerprint ? { dataset_file: fingerprint } : {}),
        ...recordedMapping(options),
      });
    }
    const round = options.round ?? 0;
    const prefix = round === 0 ? 'batch_' : `r${round}_batch_`;
    const gate = new QuotaGate({
      client: options.provider.client,
      manifest,
      ...pick(options, ['maxActiveBatches', 'maxEnqueuedTokens', 'pollMs', 'maxPollMs', 'retries', 'onRetry', 'minRetryDelayMs']),
      ...(options.provider.news ? { news: options.provider.news } : {}),
      ...(options.onQuota ? { onEvent: options.onQuota } : {}),
    });
    const upload = uploadShards({
      client: options.provider.client,
      manifest,
      endpoint: options.provider.endpoint,
      runId,
      gate,
      ...pick(options, ['workers', 'fileExpirySeconds', 'retries', 'minRetryDelayMs']),
      model: options.model,
      limits: PROVIDER_FILE_LIMITS[options.provider.name],
      // Azure's data plane has no look-up of deployments: an unknown one is refused at the first create.
      ...(options.provider.name === 'azure' ? {} : { checkModel: modelChecker(options.provider.client, options.model, options.provider.describe, options.signal) }),
      ...(options.pollMs === undefined ? {} : { processing: { pollMs: Math.min(options.pollMs, 1000), ...(options.maxPollMs === undefined ? {} : { maxPollMs: options.maxPollMs }) } }),
      ...(options.onUpload ? { onEvent: options.onUpload } : {}),
      ...(options.onUploadRead ? { onRead: options.onUploadRead } : {}),
    });
    // By shard: a shard re-queued and submitted again is listed once, with its last batch.
    const submitted = new Map<string, SubmittedShard>();
    const collect = async (items: AsyncIterable<SubmittedShard>) => {
      for await (const item of items) submitted.set(shardKey(item.shard), item);
    };
    const signal = options.signal ? [{ signal: options.signal }] : [];
    /** Shards whose batch failed on the token quota get a new one; with limits, until every batch is validated. */
    const drain = async () => {
      for (;;) {
        const waiting = requeuedShards(manifest.state).map((s) => s.shard);
        if (waiting.length > 0) {
          await pipeline(async function* () {
            yield* waiting;
          }, upload, collect, ...signal);
          continue;
        }
        const validating = [...manifest.state.batches.values()].some((b) => isUnfinished(b) && (b.status === undefined || b.status === 'validating'));
        if (!gate.limited || !validating) return;
        await gate.waitForValidation(options.signal);
      }
    };

    const reusable = await builtShards(manifest, round);
    // A build of no request is no build to reuse: built again, it fails again, saying why.
    if (reusable && reusable.length > 0) {
      options.onBuilt?.(reusable);
      await options.beforeUpload?.(reusable);
      await pipeline(async function* () {
        yield* reusable;
      }, upload, collect, ...signal);
      await drain();
      return { build: null, runId, manifestPath, submitted: [...submitted.values()] };
    }

    // No complete build on record: build again. The same dataset and settings give the same
    // shards (same sha256), so shards already submitted are recognised and skipped.
    await prepareOutDir(options.outDir, true, prefix);
    const name = options.dataset === '-' ? '-' : options.dataset;
    const rejectsPath = options.rejectsPath ?? path.join(options.outDir, round === 0 ? 'rejects.jsonl' : `r${round}_rejects.jsonl`);
    const rejects = rejectsSink({ path: rejectsPath });
    const { onReject } = rejects;
    const source = readDataset({ dataset: options.dataset, ...(options.format ? { format: options.format } : {}), name, onReject });
    if (options.progress) options.progress.read = source.stats;
    const shards: ShardRecord[] = [];
    const buildOptions: BuildOptions = {
      ...options,
      provider: options.provider.name,
      outDir: options.outDir,
      // A resubmission's dataset is a file of the job's rows elsewhere: images stay where the job's dataset says.
      ...(round > 0 && options.imageRoot === undefined ? { imageRoot: path.dirname(path.resolve(options.jobDataset ?? options.dataset)) } : {}),
    };
    let summary: BuildSummary | null = null;
    async function* recordShards(records: AsyncIterable<ShardRecord>) {
      for await (const built of records) {
        const shard: ShardRecord = { ...built, ...roundField({ round }) };
        await manifest.append({ type: 'shard', run_id: runId, shard, ...roundField({ round }) });
        shards.push(shard);
        countShard(options.progress, shard);
        options.onShard?.(shard);
        // With `beforeUpload`, uploads wait for the whole build and the check (shard records are a few hundred bytes).
        if (!options.beforeUpload) yield shard;
      }
      // Every row is now a request in a shard or a reject: the build is complete.
      await rejects.close();
      summary = buildSummary(source.stats, shards, rejects.counts, rejectsPath);
      await manifest.append({ type: 'build_done', run_id: runId, shards: shards.length, rows: summary.rows, rejects: summary.rejects.total, ...(round ? { round } : {}) });
      options.onBuilt?.(shards);
      if (options.beforeUpload) {
        await options.beforeUpload(shards);
        yield* shards;
      }
    }
    try {
      const batcher = byteBudgetBatcher({
        onReject,
        file: name,
        outDir: options.outDir,
        prefix,
        ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
        ...(options.maxRequests === undefined ? {} : { maxRequests: options.maxRequests }),
        ...(options.maxShardTokens === undefined ? {} : { maxTokens: options.maxShardTokens }),
        ...(options.fsync === undefined ? {} : { fsync: options.fsync }),
      });
      // The build runs ahead of uploads held back by the quota gate: it finishes (and is recorded
      // as complete) while batches wait; only `workers` uploads wait on the provider.
      const uploadBehind: typeof upload = (shards, opts) => upload(readAhead(shards), opts);
      await pipeline(source, requestStages(buildOptions, onReject, name), batcher, recordShards, uploadBehind, collect, ...signal);
    } catch (err) {
      await rejects.discard();
      throw err;
    }
    await drain();
    const built = summary as BuildSummary | null;
    // Zero requests is a failure, not an empty success (a resubmission's round may find every row refused again).
    if (round === 0 && built && built.requests === 0) throw await noRequestsError(options.dataset, built, readingOf(options));
    return { build: built, runId, manifestPath, submitted: [...submitted.values()] };
  } finally {
    await manifest.close();
  }
}

/** A recorded event as `append` takes it again (it stamps its own time). */
function withoutTime<E extends { at: string }>(event: E): Omit<E, 'at'> {
  const { at: _at, ...rest } = event;
  return rest;
}

/** The options among `keys` that are set. */
function pick<T extends object, K extends keyof T>(options: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (options[k] !== undefined) out[k] = options[k];
  return out;
}

/** The shards of a complete earlier build of `round`, if their files are all there and of the recorded size. */
async function builtShards(manifest: Manifest, round: number): Promise<ShardRecord[] | null> {
  const done = manifest.state.builds.get(round);
  if (!done) return null;
  const shards = [...manifest.state.shards.values()].filter((s) => s.round === round).map((s) => s.shard);
  if (shards.length !== done.shards) return null;
  for (const shard of shards) {
    const known = manifest.state.shards.get(shardKey(shard));
    if (known?.batchId) continue; // submitted: its file is no longer needed
    const size = await stat(shard.path).then((s) => s.size, () => -1);
    if (size !== shard.bytes) return null;
  }
  return shards;
}
