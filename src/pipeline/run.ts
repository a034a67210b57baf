import path from 'node:path';
import { Manifest, requeuedShards } from '../batch-api/manifest.js';
import { downloadedFiles } from './job/job.js';
import { type MergeOptions, type MergeSummary } from './merge.js';
import { mergeDataset } from './merge-layout.js';
import { defaultErrorsPath } from '../core/join/errors-path.js';
import { deleteJobFiles } from '../batch-api/local-cleanup.js';
import { resubmit, RETRYABLE } from './resubmit.js';
import { retrieve, type RetrieveOptions } from './retrieve.js';
import { submit, type SubmitOptions, type SubmitSummary } from './submit.js';
import { forgetEncodings } from '../core/requests/tokenizer.js';

/** Rounds `run` gives rows whose batch expired, by default. */
export const EXPIRED_ROUNDS = 3;

export interface RunOptions extends Omit<SubmitOptions, 'round' | 'jobDataset'> {
  /** Folder for downloaded results (the merge reads the files the manifest records, not the folder). */
  resultsDir: string;
  /** The merged dataset: a file, or `-` for stdout. */
  output: string;
  errorsPath?: string;
  /** The field added to each row. Default `generated_explanation`. */
  field?: string;
  /** The JSON field of the explanation in the answers. Default `explanation`. */
  answerField?: string;
  /** Resubmissions of rows that failed for a reason another try may fix. Default 0. */
  maxRounds?: number;
  /**
   * Resubmissions of rows whose batch expired (OpenAI's 24 h window), whatever `maxRounds` says:
   * they were never answered (nor billed), and a new batch is the documented remedy. Default 3.
   */
  expiredRounds?: number;
  /** See RetrieveOptions.deleteInputFiles. Default `completed`. */
  deleteInputFiles?: RetrieveOptions['deleteInputFiles'];
  sortMemory?: number;
  /** Folder for the merge's sort runs. */
  tmpDir?: string;
  /** Threads parsing result lines in the merge (see MergeOptions). */
  parseThreads?: number;
  onRetrieveProgress?: RetrieveOptions['onProgress'];
  /** Told as each phase starts, for logs. */
  onPhase?: (phase: string) => void;
  /** Told as each step of a merge starts (see MergeOptions.onStep). */
  onMergeStep?: MergeOptions['onStep'];
}

export interface RunSummary {
  submit: SubmitSummary;
  merge: MergeSummary;
  /** Resubmissions made so far (by this and earlier runs of the job). */
  rounds: number;
  warnings: string[];
}

/**
 * The whole job: submit → retrieve (waiting) → merge, then, up to `maxRounds` times, resubmit the
 * rows whose failure another try may fix (transient API errors, expiry, lines lost) and fold their
 * answers in. Every phase resumes from the manifest, so the same command run again after an
 * interruption picks up where it stopped. Shards whose batch failed on the token quota while
 * waiting are submitted again (same input file) before the merge, which never takes such a
 * failure for their result.
 */
export async function run(options: RunOptions): Promise<RunSummary> {
  const manifestPath = options.manifestPath ?? path.join(options.outDir, 'manifest.jsonl');
  const errorsPath = options.errorsPath ?? defaultErrorsPath(options.output, options.outDir);
  options.onPhase?.('submit');
  let submitted = await submit({ ...options, manifestPath });
  const warnings: string[] = [];
  for (let requeue = 0, mostRequeues = 0; ; ) {
    if (requeue > 0) {
      // A shard refused again and again may be over the provider's quota on its own.
      const hint = mostRequeues >= 3 ? `; one was refused ${mostRequeues} times: a shard over the provider's quota never passes (--max-shard-tokens cuts smaller ones)` : '';
      options.onPhase?.(`submit again (${requeue} shard${requeue === 1 ? '' : 's'} re-queued after token_limit_exceeded${hint})`);
      const again = await submit({ ...options, manifestPath });
      submitted = again.build ? again : { ...again, build: submitted.build };
      requeue = 0;
    }
    // Built: the tokenizer's ranks (~16 MB of heap) need not wait and merge with the job (a
    // resubmission builds its own again).
    forgetEncodings();
    const manifest = await Manifest.open(manifestPath, options.manifestOptions);
    let merged: MergeSummary;
    try {
      options.onPhase?.('retrieve');
      const got = await retrieve({
        client: options.provider.client,
        manifest,
        outDir: options.resultsDir,
        wait: true,
        ...(options.provider.news ? { news: options.provider.news } : {}),
        ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
        ...(options.maxPollMs === undefined ? {} : { maxPollMs: options.maxPollMs }),
        ...(options.retries === undefined ? {} : { retries: options.retries }),
        minRetryDelayMs: options.minRetryDelayMs,
        ...(options.deleteInputFiles === undefined ? {} : { deleteInputFiles: options.deleteInputFiles }),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onRetrieveProgress ? { onProgress: options.onRetrieveProgress } : {}),
        ...(options.onRetry ? { onRetry: options.onRetry } : {}),
      });
      warnings.push(...got.warnings);
      const waiting = requeuedShards(manifest.state);
      if (waiting.length > 0) {
        // Re-queued on the token quota: submit sends them again, then back to waiting.
        requeue = waiting.length;
        mostRequeues = Math.max(...waiting.map((s) => s.requeues ?? 0));
        continue;
      }
      options.onPhase?.('merge');
      merged = await mergeDataset({
        dataset: options.dataset,
        // How the job reads its dataset, as recorded when it was submitted.
        ...(manifest.state.run?.mapping ? { mapping: manifest.state.run.mapping } : {}),
        // The job's own downloads, never the folder's other files: another job may have put results there.
        results: downloadedFiles(manifest.state),
        output: options.output,
        errorsPath,
        rejectsPath: options.rejectsPath ?? path.join(options.outDir, 'rejects.jsonl'),
        manifest,
        ...(options.field ? { field: options.field } : {}),
        ...(options.answerField ? { answerField: options.answerField } : {}),
        ...(options.sortMemory ? { sortMemory: options.sortMemory } : {}),
        ...(options.tmpDir ? { tmpDir: options.tmpDir } : {}),
        ...(options.parseThreads === undefined ? {} : { parseThreads: options.parseThreads }),
        ...(options.onMergeStep ? { onStep: options.onMergeStep } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      // The local server keeps nothing of a merged job (its results are on disk).
      if (options.provider.name === 'local') warnings.push(...(await deleteJobFiles(options.provider.client, manifest, { ...(options.signal ? { signal: options.signal } : {}) })).warnings);
    } finally {
      await manifest.close();
    }
    const rounds = Math.max(0, ...(await Manifest.open(manifestPath)).state.rounds.keys());
    const reasons = rounds < (options.maxRounds ?? 0) ? RETRYABLE : rounds < (options.expiredRounds ?? EXPIRED_ROUNDS) ? ['batch_expired'] : [];
    const retryable = reasons.reduce((n, r) => n + (merged.byReason[r] ?? 0), 0);
    if (retryable === 0) return { submit: submitted, merge: merged, rounds, warnings };
    options.onPhase?.(`resubmit round ${rounds + 1} (${retryable} rows${reasons.length === 1 ? ' whose batch expired' : ''})`);
    const again = await resubmit({ ...options, manifestPath, from: errorsPath, reasons, retryableStatusOnly: true });
    if (again.rows === 0) return { submit: submitted, merge: merged, rounds, warnings };
  }
}
