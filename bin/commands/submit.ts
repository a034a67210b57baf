import type { Argv, CommandModule } from 'yargs';
import { EXIT } from '../../src/errors.js';
import { buildOptionsFromArgs, datasetFlags, type DatasetArgs } from '../build-flags.js';
import { providerFlags, providerFromArgs, loadEnvFile, type ProviderArgs } from '../provider-flags.js';
import { JOB_RESUME_HINT, runCommand } from '../run-command.js';
import { formatBuildSummary } from './build.js';

export const submitFlags = {
  'out-dir': { type: 'string', default: 'batches', describe: 'Folder for shards, the manifest and rejects (--output_dir also works)' },
  manifest: { type: 'string', describe: 'The job manifest (default <out-dir>/manifest.jsonl)' },
  workers: { type: 'number', default: 2, describe: 'Shards uploaded at once (while the next are built)' },
  'file-expiry-days': { type: 'number', default: 14, describe: 'expires_after of uploaded input files, in days (Azure: 14–30); 0 leaves it out' },
} as const;

export type SubmitArgs = DatasetArgs & ProviderArgs & { 'out-dir': string; manifest?: string; workers: number; 'file-expiry-days': number };

/**
 * What submit, resubmit and run start with: a log on stderr, the environment file, the build
 * options and the provider from the flags, and the submit options they make together. Close the
 * provider when done.
 */
export async function openJob(args: SubmitArgs & { quiet: boolean }) {
  const log = (s: string) => void (args.quiet || process.stderr.write(`${s}\n`));
  loadEnvFile(args);
  const buildOptions = await buildOptionsFromArgs(args);
  const provider = await providerFromArgs(args, log);
  const options = {
    ...buildOptions,
    provider,
    outDir: args['out-dir'],
    ...(args.manifest === undefined ? {} : { manifestPath: args.manifest }),
    workers: args.workers,
    fileExpirySeconds: args['file-expiry-days'] > 0 ? Math.round(args['file-expiry-days'] * 86_400) : null,
  };
  return { log, provider, options };
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
      const { log, provider, options } = await openJob(args);
      try {
        const summary = await submit({
          ...options,
          signal,
          onUpload: (e) => {
            if (e.type === 'created' || e.type === 'found' || e.type === 'skipped') {
              log(`submit: shard ${e.shard.index} (${e.shard.rows} requests) → ${e.type === 'skipped' ? 'already submitted' : `batch ${e.detail}${e.type === 'found' ? ' (found again after an interruption)' : ''}`}`);
            } else if (e.type === 'retry') log(`submit: shard ${e.shard.index}: retrying after ${e.detail}`);
          },
        });
        if (summary.build) log(formatBuildSummary(summary.build).trimEnd());
        else log('submit: the build of an earlier run is complete; its shards were reused');
        const created = summary.submitted.filter((s) => !s.skipped).length;
        log(`submit: ${summary.submitted.length} shard(s) submitted (${created} now, ${summary.submitted.length - created} earlier); manifest ${summary.manifestPath}`);
        log(`next: batch-explain retrieve --wait --manifest ${summary.manifestPath}${args.provider === 'local' ? '' : ` --provider ${args.provider}`}`);
        return args.strict && (summary.build?.rejects.total ?? 0) > 0 ? EXIT.REJECTS : EXIT.OK;
      } finally {
        await provider.close();
      }
    }, { resumeHint: JOB_RESUME_HINT }),
};
