import type { Argv, CommandModule } from 'yargs';
import type { BuildSummary } from '../../src/pipeline/build.js';
import { EXIT } from '../../src/errors.js';
import { buildOptionsFromArgs, datasetFlags, type DatasetArgs } from '../build-flags.js';
import { runCommand } from '../run-command.js';
import { formatBytes, formatCount } from '../format.js';
import { progressFromArgs } from '../progress.js';
import { buildSampler } from '../progress-views.js';
import { say } from '../terminal.js';
import { loadEnvFile, providerFlags } from '../provider-flags.js';

const buildOnlyFlags = {
  provider: { choices: ['local', 'azure', 'openai'], default: 'local', describe: 'Where the batches will go; sets the line url and request cap' },
  'out-dir': { type: 'string', describe: 'Folder for shard files (default ./batches; --output_dir also works)' },
  out: { type: 'string', describe: 'Write request lines to stdout instead: --out -' },
  overwrite: { type: 'boolean', default: false, describe: 'Replace shard files left in --out-dir by an earlier build' },
  'env-file': providerFlags['env-file'],
} as const;

type BuildArgs = DatasetArgs & { 'out-dir'?: string; out?: string; overwrite: boolean; 'env-file'?: string | false };

export const buildCommand: CommandModule<object, BuildArgs> = {
  command: 'build',
  describe: 'Turn a dataset into Batch API request shards (or request lines on stdout)',
  builder: (y: Argv) =>
    y
      .options({ ...datasetFlags, ...buildOnlyFlags })
      .check((a) => {
        if (a.out !== undefined && a.out !== '-') throw new Error('--out only takes - (stdout); use --out-dir for files');
        if (a.out !== undefined && a['out-dir'] !== undefined) throw new Error('--out - and --out-dir exclude each other');
        return true;
      })
      .example('$0 build --dataset data.jsonl --prompt armeme_explanation_english --out-dir batches', 'shards in ./batches')
      .example('cat data.jsonl | $0 build --dataset - --prompt p.txt --out - | head -1', 'request lines on stdout') as unknown as Argv<BuildArgs>,
  handler: (args) =>
    runCommand(async (signal) => {
      // The deployment of `--provider azure` may be in ./.env (AZURE_ENGINE_NAME), as for submit.
      loadEnvFile(args);
      const { build, buildProgress } = await import('../../src/pipeline/build.js');
      const toStdout = args.out === '-';
      const outDir = toStdout ? undefined : (args['out-dir'] ?? 'batches');
      const log = (s: string) => args.quiet || say(`${s}\n`);
      const counters = buildProgress();
      const display = progressFromArgs(args, 'build');
      display.start(buildSampler(counters, args.dataset));
      try {
        const summary = await build({
          ...(await buildOptionsFromArgs(args)),
          ...(outDir === undefined ? { output: process.stdout } : { outDir }),
          overwrite: args.overwrite,
          signal,
          progress: counters,
        });
        display.stop();
        if (!args.quiet) say(formatBuildSummary(summary));
        return args.strict && summary.rejects.total > 0 ? EXIT.REJECTS : EXIT.OK;
      } catch (err) {
        display.stop();
        throw err;
      }
    }, { resumeHint: args.out === '-' ? undefined : 'Finished shards are complete, the unfinished one was removed: re-run with --overwrite to build again.' }),
};

export function formatBuildSummary(s: BuildSummary): string {
  const lines = [
    `build: ${formatCount(s.rows)} ${s.rows === 1 ? 'row' : 'rows'} read${s.blankLines ? ` (${formatCount(s.blankLines)} blank ${s.blankLines === 1 ? 'line' : 'lines'} skipped)` : ''}` +
      ` = ${formatCount(s.requests)} ${s.requests === 1 ? 'request' : 'requests'} + ${formatCount(s.rejects.total)} rejected`,
    `  ${s.shards.length} shard${s.shards.length === 1 ? '' : 's'}, ${formatBytes(s.bytes)}${s.inputTokens === null ? '' : `, ~${formatCount(s.inputTokens)} input tokens (estimated)`}`,
  ];
  for (const shard of s.shards.slice(0, 20)) {
    const tokens = shard.input_tokens === undefined ? '' : `  ~${formatCount(shard.input_tokens)} tokens`;
    lines.push(`    ${shard.path}  ${formatCount(shard.rows)} ${shard.rows === 1 ? 'request' : 'requests'}  ${formatBytes(shard.bytes)}${tokens}  lines ${shard.first_line}–${shard.last_line}`);
  }
  if (s.shards.length > 20) lines.push(`    … ${s.shards.length - 20} more`);
  if (s.rejects.total > 0) {
    const byCode = Object.entries(s.rejects.byCode)
      .sort((a, b) => b[1] - a[1])
      .map(([code, n]) => `${code} ${formatCount(n)}`)
      .join(', ');
    lines.push(`  rejected by code: ${byCode}`);
    for (const r of s.rejects.first) lines.push(`    ${r.file ?? ''}:${r.line}: ${r.code} ${r.message}`);
    if (s.rejects.total > s.rejects.first.length) lines.push(`    … ${formatCount(s.rejects.total - s.rejects.first.length)} more`);
    lines.push(`  rejects file: ${s.rejectsPath}`);
  }
  return `${lines.join('\n')}\n`;
}
