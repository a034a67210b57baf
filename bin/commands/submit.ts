import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { packageRoot } from '../../src/core/io/package-root.js';
import { BatchExplainError, EXIT } from '../../src/errors.js';
import { buildOptionsFromArgs, datasetFlags, positiveFlag, type DatasetArgs } from '../build-flags.js';
import { apiRetries, hostOf, providerFlags, providerFromArgs, loadEnvFile, retryLog, type ProviderArgs } from '../provider-flags.js';
import { JOB_RESUME_HINT, runCommand } from '../run-command.js';
import { chooseJob } from '../job-args.js';
import { layoutGiven } from '../mapping-flags.js';
import { nothingConfirmed } from '../../src/pipeline/job/job.js';
import { formatBuildSummary } from './build.js';
import type { QuotaEvent } from '../../src/batch-api/quota.js';
import { checkMaxCost, estimateCost } from '../../src/core/requests/cost-estimate.js';
import type { ShardRecord } from '../../src/types.js';
import { costFlags, costOptionsFromArgs, formatEstimate, type CostArgs } from '../cost-flags.js';
import { formatCount } from '../format.js';
import { progressFromArgs } from '../progress.js';
import { uploadGarbageCollector } from '../heap.js';
import { buildSampler } from '../progress-views.js';

/** Polling of batch statuses: by retrieve --wait, and by submit while shards are held back. */
export const pollFlags = {
  'poll-interval': { type: 'number', describe: 'First wait between status polls, in seconds, growing by half each time (default 0.5 with the local provider, 5 otherwise)' },
  'max-poll-interval': { type: 'number', default: 60, describe: 'Longest wait between status polls, in seconds' },
} as const;

export type PollArgs = { 'poll-interval'?: number; 'max-poll-interval': number };

/** Poll waits from the flags; the first is shorter for the local provider (`provider`: the one in use). */
export function pollOptions(args: PollArgs, provider: string): { pollMs: number; maxPollMs: number } {
  return { pollMs: Math.round((args['poll-interval'] ?? (provider === 'local' ? 0.5 : 5)) * 1000), maxPollMs: Math.round(args['max-poll-interval'] * 1000) };
}

/** Input files deleted from the provider once their batch is finished and downloaded (retrieve, run). */
export const deleteInputFlag = {
  'delete-input-files': {
    choices: ['completed', 'failed', 'never'],
    default: 'completed',
    describe: "Delete uploaded input files once their batch is finished and downloaded: every finished batch's, only failed ones', or never",
  },
} as const;

export const submitFlags = {
  'out-dir': { type: 'string', describe: 'Folder of the job: shards, the manifest, rejects, results (default ./batches, or batches-2… when that holds another job; --output_dir also works)' },
  manifest: { type: 'string', describe: 'The job manifest (default <out-dir>/manifest.jsonl)' },
  workers: { type: 'number', default: 2, describe: 'Shards uploaded at once (while the next are built)' },
  'file-expiry-days': { type: 'number', default: 14, describe: 'expires_after of uploaded input files, in days (Azure: 14–30); 0 leaves it out' },
  'max-active-batches': { type: 'number', describe: 'Unfinished batches of the job at once; more shards wait for earlier batches to finish' },
  'max-enqueued-tokens': { type: 'number', describe: "Estimated input tokens in the job's unfinished batches (your enqueued-token quota); more shards wait" },
  ...pollFlags,
  ...costFlags,
  'max-cost': { type: 'number', describe: 'Refuse to upload when the estimated cost in USD is over this (the build completes first and is kept; exit 4)' },
} as const;

export type SubmitArgs = DatasetArgs &
  ProviderArgs &
  PollArgs &
  CostArgs & { 'out-dir'?: string; manifest?: string; workers: number; 'file-expiry-days': number; 'max-active-batches'?: number; 'max-enqueued-tokens'?: number; 'max-cost'?: number };

/**
 * What submit, resubmit and run start with: a log on stderr, the environment file, the build
 * options and the provider from the flags, and the submit options they make together. Close the
 * provider when done.
 */
export async function openJob(args: SubmitArgs & { quiet: boolean }, label: string) {
  // Log lines go through the progress display: above its bar on a terminal.
  const display = progressFromArgs(args, label);
  const log = (s: string) => void (args.quiet || display.log(s));
  loadEnvFile(args);
  // Every flag is checked before the provider opens (the local one is a server in this process,
  // which would keep it alive after a flag error) and before anything is written.
  const job = await chooseJob(args, async (provider, recorded) => {
    // Without --prompt or --preset, a job's recorded prompt when it is a shipped one (a preset's): chooseJob then checks it is the same text.
    const shipped = args.prompt === undefined && args.preset === undefined ? recordedShippedPrompt(recorded?.prompt) : undefined;
    const options = await buildOptionsFromArgs({ ...args, provider, ...(shipped ? { prompt: shipped } : {}) }, recorded?.model);
    // Without layout flags, a job's recorded layout (a job started with --preset resumes without it).
    if (layoutGiven(args) || !recorded?.mapping) return options;
    const { format, ...mapping } = recorded.mapping;
    return { ...options, format, mapping };
  });
  const buildOptions = job.options;
  const cost = await costOptionsFromArgs(args);
  const maxCost = args['max-cost'];
  if (maxCost !== undefined && !(maxCost >= 0)) throw new BatchExplainError('E_OPTION', `--max-cost: expected an amount of USD of 0 or more, got ${maxCost}`);
  const maxActive = args['max-active-batches'] === undefined ? undefined : positiveFlag('--max-active-batches', args['max-active-batches']);
  const maxTokens = args['max-enqueued-tokens'] === undefined ? undefined : positiveFlag('--max-enqueued-tokens', args['max-enqueued-tokens']);
  const polls = pollOptions(args, job.provider);
  const retries = apiRetries(args);
  if (maxTokens !== undefined && (buildOptions.maxShardTokens ?? Infinity) > maxTokens) {
    log(`batch-explain: shards are not cut at --max-enqueued-tokens ${maxTokens}; one estimated over it is submitted only while nothing else of the job runs (pass --max-shard-tokens ${maxTokens} to a new job to cut them)`);
  }
  // The estimate of a round's shards once its build is complete; with --max-cost, checked before any upload.
  const printEstimate = (shards: ShardRecord[]) => {
    // No shard: the build failed for want of a single request, and says so; an estimate of nothing is noise.
    if (shards.length === 0) return null;
    const e = estimateCost(shards, { model: buildOptions.tokenModel ?? buildOptions.model, maxTokens: buildOptions.maxTokens ?? 4096, ...cost });
    log(`estimate:\n${formatEstimate(e, 20).trimEnd()}`);
    return e;
  };
  const { buildProgress } = await import('../../src/pipeline/build.js');
  const progress = buildProgress();
  const uploads = { done: 0 };
  const provider = await providerFromArgs(args, log, job.job, job.manifestPath, job.state !== undefined && nothingConfirmed(job.state));
  if (job.job) log(`${label}: resuming the job in ${job.outDir} (started ${job.job.at})`);
  else if (job.passedOver.length > 0) log(`${label}: a new job, in ${job.outDir} (${job.passedOver.join(', ')} ${job.passedOver.length === 1 ? 'holds another job' : 'hold other jobs'})`);
  const options = {
    ...buildOptions,
    progress,
    ...(maxCost === undefined ? { onBuilt: (shards: ShardRecord[]) => void printEstimate(shards) } : { beforeUpload: (shards: ShardRecord[]) => {
          const estimate = printEstimate(shards);
          if (estimate) checkMaxCost(estimate, maxCost);
        } }),
    provider,
    outDir: job.outDir,
    manifestPath: job.manifestPath,
    workers: args.workers,
    fileExpirySeconds: args['file-expiry-days'] > 0 ? Math.round(args['file-expiry-days'] * 86_400) : null,
    ...(maxActive === undefined ? {} : { maxActiveBatches: maxActive }),
    ...(maxTokens === undefined ? {} : { maxEnqueuedTokens: maxTokens }),
    ...polls,
    onQuota: (e: QuotaEvent) => log(`submit: shard ${e.shard.index} ${e.type === 'held' ? 'held back' : 'goes alone'}: ${e.detail}`),
    onRetry: retryLog(label, provider, log),
    ...(retries === undefined ? {} : { retries }),
    // The sent pieces of shards collected as they go (bin/heap.ts).
    onUploadRead: uploadGarbageCollector(),
  };
  /** The build's figures and the shards submitted: what submit (and run's first phase) shows. */
  const submitSample = buildSampler(progress, args.dataset, () => `${formatCount(uploads.done)} submitted`);
  return { log, provider, options, display, uploads, submitSample, job };
}

export const submitCommand: CommandModule<object, SubmitArgs> = {
  command: 'submit',
  describe: 'Build shards, upload them and create batches, streaming; safe to re-run after a crash',
  builder: (y: Argv) =>
    y
      .options({ ...datasetFlags, ...providerFlags, ...submitFlags })
      .example('$0 submit --dataset data.jsonl --prompt armeme_explanation_arabic', 'with the local server')
      .example('$0 submit --provider azure --env_file .env --dataset data.jsonl --prompt p.txt --output_dir ./batches', 'the original scripts\' flags') as unknown as Argv<SubmitArgs>,
  handler: (args) =>
    runCommand(async (signal) => {
      const { submit } = await import('../../src/pipeline/submit.js');
      const { log, provider, options, display, uploads, submitSample } = await openJob(args, 'submit');
      display.start(submitSample);
      try {
        const summary = await submit({
          ...options,
          signal,
          onUpload: (e) => {
            if (e.type === 'created' || e.type === 'found' || e.type === 'skipped') {
              uploads.done++;
              log(`submit: shard ${e.shard.index} (${e.shard.rows} requests) → ${e.type === 'skipped' ? 'already submitted' : `batch ${e.detail}${e.type === 'found' ? ' (found again after an interruption)' : ''}`}`);
            } else if (e.type === 'retry') log(`submit: shard ${e.shard.index}: ${hostOf(provider.client.baseURL)}: ${e.detail}`);
            else if (e.type === 'requeued') log(`submit: shard ${e.shard.index} re-queued (token_limit_exceeded): ${e.detail}`);
            else if (e.type === 'processing') log(`submit: shard ${e.shard.index}: waiting for the provider to process its upload (${e.detail})`);
          },
        });
        display.stop();
        if (summary.build) log(formatBuildSummary(summary.build).trimEnd());
        else log('submit: the build of an earlier run is complete; its shards were reused');
        const created = summary.submitted.filter((s) => !s.skipped).length;
        log(`submit: ${summary.submitted.length} shard(s) submitted (${created} now, ${summary.submitted.length - created} earlier); manifest ${summary.manifestPath}`);
        // The job's provider, base URL and API version are in its manifest: the hint needs no more.
        log(`next: batch-explain retrieve --wait --manifest ${summary.manifestPath}`);
        return args.strict && (summary.build?.rejects.total ?? 0) > 0 ? EXIT.REJECTS : EXIT.OK;
      } finally {
        display.stop();
        await provider.close();
      }
    }, { resumeHint: JOB_RESUME_HINT }),
};

/** The shipped prompt file a job's manifest names (its `prompt`, a file name), or undefined when there is none of that name. */
function recordedShippedPrompt(name: string | undefined): string | undefined {
  if (name === undefined || name.includes('/') || name.includes(path.sep)) return undefined;
  const file = path.join(packageRoot(), 'prompts', name);
  return existsSync(file) ? file : undefined;
}
