import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { EXIT } from '../../src/errors.js';
import { buildOptionsFromArgs } from '../build-flags.js';
import { DIRECT_RESUME_HINT, directFlags, directOptionsFromArgs, formatDirectProgress, formatDirectSummary, type DirectArgs } from '../direct-flags.js';
import { quietFlag } from '../flags.js';
import { loadEnvFile, providerFlags } from '../provider-flags.js';
import { runCommand } from '../run-command.js';
import { formatMergeSummary, mergeOutputOptions } from './merge.js';
import { defaultErrorsPath } from '../../src/core/join/errors-path.js';
import type { RunArgs } from './run-args.js';
import { say } from '../terminal.js';

/** Every so often while requests go out, a progress line on stderr. */
const PROGRESS_MS = 10_000;

/** What `run --provider direct` receives: run's own flags, with direct's. */
export type RunDirectArgs = Omit<RunArgs, 'provider'> & DirectArgs & { provider: 'direct' };

/** `run --provider direct`: the dataset's requests straight to `<base-url>/chat/completions`, then merge. */
export function runDirectHandler(args: RunDirectArgs): Promise<void> {
  return runCommand(async (signal) => {
    const log = (s: string) => void (args.quiet || say(`${s}\n`));
    loadEnvFile(args);
    // Request lines as for OpenAI (`/v1/chat/completions`, gpt-4o unless --model): vLLM's own batch runner takes them so too.
    const build = await buildOptionsFromArgs({ ...args, provider: 'openai' });
    const { options: direct, keyNote } = await directOptionsFromArgs(args);
    const [{ runDirect }, { checkedEndpoint }, { safeUrl }] = await Promise.all([
      import('../../src/pipeline/direct-run.js'),
      import('../../src/stages/send-direct.js'),
      import('../../src/core/http/endpoint-policy.js'),
    ]);
    log(`batch-explain: direct to ${safeUrl(checkedEndpoint(direct))}, ${direct.concurrency} at a time; ${keyNote}`);
    const summary = await runDirect({
      ...direct,
      build,
      resultsDir: args['results-dir'] ?? 'results',
      rejectsPath: args.rejects ?? path.join(args['out-dir'] ?? 'batches', 'rejects.jsonl'),
      output: args.output,
      errorsPath: args.errors ?? defaultErrorsPath(args.output, args['out-dir'] ?? 'batches'),
      ...mergeOutputOptions(args),
      maxRounds: args['max-rounds'],
      signal,
      progressMs: PROGRESS_MS,
      onProgress: (p) => log(formatDirectProgress(p)),
      onPhase: (phase) => log(`run: ${phase}`),
    });
    for (const s of summary.sends) log(formatDirectSummary(s));
    log(formatMergeSummary(summary.merge).trimEnd());
    return args.strict && summary.merge.explained < summary.merge.rows ? EXIT.REJECTS : EXIT.OK;
  }, { resumeHint: DIRECT_RESUME_HINT });
}

type SendArgs = DirectArgs & { requests: string[]; 'results-dir': string; rejects: string; 'env-file'?: string; quiet: boolean; strict: boolean };

/** `send`: request lines (shards, or `build --out -` on stdin) straight to a server; `merge` folds the answers in. */
export const sendCommand: CommandModule<object, SendArgs> = {
  command: 'send',
  describe: 'Send request lines (shards, or - for stdin) straight to an OpenAI-compatible /chat/completions, no Batch API; resumable',
  builder: (y: Argv) =>
    y
      .options({
        requests: { type: 'string', array: true, demandOption: true, describe: 'Request line files, folders of shards (batch_00001.jsonl...), or - for stdin' },
        'base-url': providerFlags['base-url'],
        'env-file': providerFlags['env-file'],
        'request-timeout': providerFlags['request-timeout'],
        'results-dir': { type: 'string', default: 'results', describe: 'Folder for direct-<n>.output.jsonl and .errors.jsonl (what merge reads)' },
        rejects: { type: 'string', default: 'send-rejects.jsonl', describe: 'Lines that are not request lines (left out when there is none)' },
        ...directFlags,
        'direct-concurrency': { ...directFlags['direct-concurrency'], alias: ['concurrency'] },
        strict: { type: 'boolean', default: false, describe: 'Exit 3 if any request failed or was rejected' },
        quiet: quietFlag,
      })
      .example('$0 send --requests batches --base-url http://127.0.0.1:8000/v1', 'shards of an earlier build, to vLLM')
      .example('$0 build --dataset data.jsonl --prompt p.txt --model llava --out - | $0 send --requests - --base-url http://127.0.0.1:11434/v1', 'straight from the build, to Ollama') as unknown as Argv<SendArgs>,
  handler: (args) =>
    runCommand(async (signal) => {
      const log = (s: string) => void (args.quiet || say(`${s}\n`));
      loadEnvFile(args);
      const { options: direct, keyNote } = await directOptionsFromArgs(args);
      const [{ sendRequestLines }, { checkedEndpoint }, { safeUrl }, { rm }] = await Promise.all([
        import('../../src/pipeline/direct.js'),
        import('../../src/stages/send-direct.js'),
        import('../../src/core/http/endpoint-policy.js'),
        import('node:fs/promises'),
      ]);
      log(`batch-explain: direct to ${safeUrl(checkedEndpoint(direct))}, ${direct.concurrency} at a time; ${keyNote}`);
      const summary = await sendRequestLines({
        ...direct,
        requests: args.requests,
        resultsDir: args['results-dir'],
        rejectsPath: args.rejects,
        signal,
        progressMs: PROGRESS_MS,
        onProgress: (p) => log(formatDirectProgress(p)),
      });
      if (summary.rejects.total === 0) await rm(args.rejects, { force: true });
      log(formatDirectSummary(summary, 'request lines'));
      log(`next: batch-explain merge --dataset DATASET --results ${args['results-dir']}`);
      return args.strict && summary.failed + summary.rejects.total > 0 ? EXIT.REJECTS : EXIT.OK;
    }, { resumeHint: DIRECT_RESUME_HINT }),
};
