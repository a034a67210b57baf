import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { build, type BuildSummary } from '../../src/pipeline/build.js';
import { loadPromptFile } from '../../src/core/prompt.js';
import { packageRoot } from '../../src/core/package-root.js';
import { DEFAULT_SHARD_BYTES } from '../../src/stages/byte-budget-batcher.js';
import { BatchExplainError, EXIT } from '../../src/errors.js';
import type { Provider } from '../../src/core/request-line.js';
import { bytesFlag, quietFlag } from '../flags.js';
import { runCommand } from '../run-command.js';
import { formatBytes, formatCount } from '../format.js';

/** Requests per batch file: Azure's limit and OpenAI's (also used for the local server). */
const MAX_REQUESTS_BY_PROVIDER: Record<Provider, number> = { azure: 100_000, openai: 50_000, local: 50_000 };

export const requestFlags = {
  provider: { choices: ['local', 'azure', 'openai'], default: 'local', describe: 'Where the batches go; sets the line url and request cap' },
  model: {
    type: 'string',
    alias: ['deployment'],
    describe: 'Model (OpenAI) or deployment name (Azure). Default: $AZURE_ENGINE_NAME for azure, gpt-4o otherwise',
  },
  url: { type: 'string', describe: 'Request line url (default /chat/completions for azure, /v1/chat/completions otherwise)' },
  'max-tokens': { type: 'number', default: 4096, describe: 'Answer token cap per request' },
  'token-param': { choices: ['max_tokens', 'max_completion_tokens'], default: 'max_tokens', describe: 'Body field of the token cap' },
  temperature: { type: 'string', default: '0', describe: 'Sampling temperature, or "none" to leave it out' },
  detail: { choices: ['auto', 'low', 'high'], describe: 'Image detail (left out by default: the API uses auto)' },
  'response-format': { choices: ['none', 'json_object', 'json_schema'], default: 'none', describe: 'Ask for JSON mode or a strict {explanation} schema' },
  'answer-field': { type: 'string', default: 'explanation', describe: 'JSON field holding the explanation in the answer' },
} as const;

export const buildFlags = {
  dataset: { type: 'string', demandOption: true, describe: 'Dataset JSONL file, or - for stdin' },
  prompt: { type: 'string', demandOption: true, describe: 'Prompt file ({} = label), or a shipped prompt name' },
  'out-dir': { type: 'string', describe: 'Folder for shard files (default ./batches; --output_dir also works)' },
  out: { type: 'string', describe: 'Write request lines to stdout instead: --out -' },
  rejects: { type: 'string', describe: 'Rejects file (default <out-dir>/rejects.jsonl, ./rejects.jsonl with --out -)' },
  'image-root': { type: 'string', describe: "Folder relative img_path values resolve against (default: the dataset's folder; cwd for stdin)" },
  'text-prefix': { type: 'string', describe: 'Put between the prompt and the text (default "\\nText extracted: ")' },
  'max-bytes': bytesFlag('max-bytes', 'Shard byte budget, newlines included (180MB, 180MiB...)', DEFAULT_SHARD_BYTES),
  'max-requests': { type: 'number', describe: 'Requests per shard (default 100000 azure, 50000 openai/local)' },
  'max-image-bytes': bytesFlag('max-image-bytes', 'Larger images are rejected', 20_000_000),
  concurrency: { type: 'number', default: 8, describe: 'Images requested ahead' },
  readers: { type: 'number', default: 0, describe: 'Reader threads for images on network storage (NFS, Lustre: try 8); 0 reads on the main thread, fastest on local disks' },
  overwrite: { type: 'boolean', default: false, describe: 'Replace shard files left in --out-dir by an earlier build' },
  strict: { type: 'boolean', default: false, describe: 'Exit 3 if any row was rejected' },
  quiet: quietFlag,
} as const;

export type RequestArgs = {
  provider: Provider;
  model?: string;
  url?: string;
  'max-tokens': number;
  'token-param': 'max_tokens' | 'max_completion_tokens';
  temperature: string;
  detail?: 'auto' | 'low' | 'high';
  'response-format': 'none' | 'json_object' | 'json_schema';
  'answer-field': string;
};

/** Request options from flags; the model falls back to the original `.env` name for Azure. */
export function requestOptions(args: RequestArgs) {
  const model = args.model ?? (args.provider === 'azure' ? process.env.AZURE_ENGINE_NAME : 'gpt-4o');
  if (!model) throw new BatchExplainError('E_OPTION', 'azure needs a deployment: pass --model or set AZURE_ENGINE_NAME');
  const t = args.temperature.trim().toLowerCase();
  const temperature = t === 'none' ? null : Number(t);
  if (temperature !== null && !(temperature >= 0 && temperature <= 2)) {
    throw new BatchExplainError('E_OPTION', `--temperature: expected a number from 0 to 2 or "none", got ${JSON.stringify(args.temperature)}`);
  }
  return {
    provider: args.provider,
    model,
    ...(args.url === undefined ? {} : { url: args.url }),
    maxTokens: args['max-tokens'],
    tokenParam: args['token-param'],
    temperature,
    ...(args.detail === undefined ? {} : { detail: args.detail }),
    responseFormat: args['response-format'],
    explanationField: args['answer-field'],
  };
}

type BuildArgs = RequestArgs & {
  dataset: string;
  prompt: string;
  'out-dir'?: string;
  out?: string;
  rejects?: string;
  'image-root'?: string;
  'text-prefix'?: string;
  'max-bytes': number;
  'max-requests'?: number;
  'max-image-bytes': number;
  concurrency: number;
  readers: number;
  overwrite: boolean;
  strict: boolean;
  quiet: boolean;
};

export const buildCommand: CommandModule<object, BuildArgs> = {
  command: 'build',
  describe: 'Turn a dataset into Batch API request shards (or request lines on stdout)',
  builder: (y: Argv) =>
    y
      .options({ ...buildFlags, ...requestFlags })
      .check((a) => {
        if (a.out !== undefined && a.out !== '-') throw new Error('--out only takes - (stdout); use --out-dir for files');
        if (a.out !== undefined && a['out-dir'] !== undefined) throw new Error('--out - and --out-dir exclude each other');
        return true;
      })
      .example('$0 build --dataset data.jsonl --prompt armeme_explanation_english --out-dir batches', 'shards in ./batches')
      .example('cat data.jsonl | $0 build --dataset - --prompt p.txt --out - | head -1', 'request lines on stdout') as unknown as Argv<BuildArgs>,
  handler: (args) =>
    runCommand(async (signal) => {
      const prompt = await loadPromptFile(args.prompt, path.join(packageRoot(), 'prompts'));
      const toStdout = args.out === '-';
      const outDir = toStdout ? undefined : (args['out-dir'] ?? 'batches');
      const log = (s: string) => args.quiet || process.stderr.write(`${s}\n`);
      try {
        const summary = await build({
          ...requestOptions(args),
          dataset: args.dataset,
          template: prompt.template,
          templateSource: prompt.source,
          ...(args['text-prefix'] === undefined ? {} : { textPrefix: args['text-prefix'] }),
          ...(outDir === undefined ? { output: process.stdout } : { outDir }),
          ...(args.rejects === undefined ? {} : { rejectsPath: args.rejects }),
          ...(args['image-root'] === undefined ? {} : { imageRoot: args['image-root'] }),
          maxBytes: args['max-bytes'],
          maxRequests: args['max-requests'] ?? MAX_REQUESTS_BY_PROVIDER[args.provider],
          maxImageBytes: args['max-image-bytes'],
          concurrency: args.concurrency,
          readers: args.readers,
          overwrite: args.overwrite,
          signal,
        });
        if (!args.quiet) process.stderr.write(formatBuildSummary(summary));
        return args.strict && summary.rejects.total > 0 ? EXIT.REJECTS : EXIT.OK;
      } catch (err) {
        if (signal.aborted && outDir !== undefined) {
          log(`batch-explain: build stopped; finished shards are complete, the unfinished one was removed. Re-run with --overwrite to build again.`);
        }
        throw err;
      }
    }),
};

export function formatBuildSummary(s: BuildSummary): string {
  const lines = [
    `build: ${formatCount(s.rows)} rows read${s.blankLines ? ` (${formatCount(s.blankLines)} blank lines skipped)` : ''}` +
      ` = ${formatCount(s.requests)} requests + ${formatCount(s.rejects.total)} rejected`,
    `  ${s.shards.length} shard${s.shards.length === 1 ? '' : 's'}, ${formatBytes(s.bytes)}`,
  ];
  for (const shard of s.shards.slice(0, 20)) {
    lines.push(`    ${shard.path}  ${formatCount(shard.rows)} requests  ${formatBytes(shard.bytes)}  lines ${shard.first_line}–${shard.last_line}`);
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
