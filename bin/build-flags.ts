import path from 'node:path';
import { DEFAULT_SHARD_BYTES, PROVIDER_FILE_LIMITS } from '../src/core/shards/provider-limits.js';
import { loadPromptFile } from '../src/core/requests/prompt.js';
import { packageRoot } from '../src/core/io/package-root.js';
import { BatchExplainError } from '../src/errors.js';
import type { BuildOptions } from '../src/pipeline/build.js';
import type { Provider } from '../src/core/requests/request-line.js';
import { bytesFlag, quietFlag } from './flags.js';
import { imageFlags, imageOptionsFromArgs, type ImageArgs } from './image-flags.js';
import { layoutFromArgs, mappingFlags, type MappingArgs } from './mapping-flags.js';
import { progressFlags, type ProgressArgs } from './progress.js';

/** Requests per batch file: Azure's limit and OpenAI's (also used for the local server). */
export const MAX_REQUESTS_BY_PROVIDER: Record<Provider, number> = { azure: PROVIDER_FILE_LIMITS.azure.requests, openai: PROVIDER_FILE_LIMITS.openai.requests, local: PROVIDER_FILE_LIMITS.local.requests };

/** Flags shared by every command that builds requests from a dataset (build, submit, run). */
export const datasetFlags = {
  dataset: { type: 'string', demandOption: true, describe: 'Dataset file (JSONL, JSON, CSV, TSV, Parquet), or - for stdin' },
  prompt: { type: 'string', describe: "Prompt file ({} = label), or a shipped prompt name (default: the --preset's; submit, run and resubmit of a job: its shipped prompt)" },
  ...mappingFlags,
  rejects: { type: 'string', describe: 'Rejects file (default <out-dir>/rejects.jsonl, ./rejects.jsonl with --out -)' },
  'image-root': { type: 'string', describe: "Folder relative img_path values resolve against (default: the dataset's folder; cwd for stdin)" },
  confine: { type: 'boolean', default: false, describe: 'Reject images that resolve outside the image root (.., absolute paths, symlinks leading out)' },
  'text-prefix': { type: 'string', describe: 'Put between the prompt and the text (default "\\nText extracted: ")' },
  'max-bytes': bytesFlag('max-bytes', 'Shard byte budget, newlines included (180MB, 180MiB...)', DEFAULT_SHARD_BYTES),
  'max-requests': { type: 'number', describe: 'Requests per shard (default 100000 azure, 50000 openai/local)' },
  'max-shard-tokens': { type: 'number', describe: 'Estimated input tokens per shard (at most your enqueued-token quota, so that every shard can be submitted)' },
  'token-model': { type: 'string', describe: 'Model whose tokenizer and image token rule the estimates follow (default --model; name the model of an Azure deployment)' },
  'max-image-bytes': bytesFlag('max-image-bytes', 'Larger images are rejected', 20_000_000),
  concurrency: { type: 'number', default: 8, describe: 'Images requested ahead' },
  readers: { type: 'number', default: 0, describe: 'Reader threads for images on network storage (NFS, Lustre: try 8); 0 reads on the main thread, fastest on local disks' },
  strict: { type: 'boolean', default: false, describe: 'Exit 3 if any row was rejected' },
  quiet: quietFlag,
  ...progressFlags,
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
  ...imageFlags,
} as const;

export type DatasetArgs = {
  provider: Provider;
  dataset: string;
  prompt?: string;
  rejects?: string;
  'image-root'?: string;
  confine: boolean;
  'text-prefix'?: string;
  'max-bytes': number;
  'max-requests'?: number;
  'max-shard-tokens'?: number;
  'token-model'?: string;
  'max-image-bytes': number;
  concurrency: number;
  readers: number;
  strict: boolean;
  quiet: boolean;
  model?: string;
  url?: string;
  'max-tokens': number;
  'token-param': 'max_tokens' | 'max_completion_tokens';
  temperature: string;
  detail?: 'auto' | 'low' | 'high';
  'response-format': 'none' | 'json_object' | 'json_schema';
  'answer-field': string;
} & ImageArgs &
  MappingArgs &
  ProgressArgs;

/** A flag that must be a positive integer, checked with a message naming it. */
export function positiveFlag(flag: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new BatchExplainError('E_OPTION', `${flag}: expected a positive integer, got ${Number.isNaN(value) ? 'something that is not a number' : JSON.stringify(value)}`);
  return value;
}

/**
 * Build options from flags: the dataset is checked, the layout and prompt read, the model falls
 * back to the original `.env` name for Azure, then to the deployment a job recorded (`recordedModel`).
 */
export async function buildOptionsFromArgs(args: DatasetArgs, recordedModel?: string): Promise<Omit<BuildOptions, 'outDir' | 'output'>> {
  // The build pipeline's modules load when a command runs, not with the parser (every command starts faster).
  const { checkDataset } = await import('../src/pipeline/build.js');
  await checkDataset(args.dataset);
  const layout = layoutFromArgs(args);
  const promptName = args.prompt ?? layout.prompt;
  if (promptName === undefined) throw new BatchExplainError('E_OPTION', 'give --prompt (a prompt file or a shipped prompt name), or a --preset that brings its own');
  const prompt = await loadPromptFile(promptName, path.join(packageRoot(), 'prompts'));
  const model = args.model ?? (args.provider === 'azure' ? (process.env.AZURE_ENGINE_NAME ?? recordedModel) : 'gpt-4o');
  if (!model) {
    throw new BatchExplainError('E_OPTION', 'azure needs a deployment: pass --model NAME, or set AZURE_ENGINE_NAME in the environment or in ./.env (read by default; --env-file FILE for another)');
  }
  const t = args.temperature.trim().toLowerCase();
  const temperature = t === 'none' ? null : Number(t);
  if (temperature !== null && !(temperature >= 0 && temperature <= 2)) {
    throw new BatchExplainError('E_OPTION', `--temperature: expected a number from 0 to 2 or "none", got ${JSON.stringify(args.temperature)}`);
  }
  return {
    dataset: args.dataset,
    ...(layout.format === undefined ? {} : { format: layout.format }),
    mapping: layout.mapping,
    template: prompt.template,
    templateSource: prompt.source,
    provider: args.provider,
    model,
    ...(args.url === undefined ? {} : { url: args.url }),
    maxTokens: positiveFlag('--max-tokens', args['max-tokens']),
    tokenParam: args['token-param'],
    temperature,
    ...(args.detail === undefined ? {} : { detail: args.detail }),
    responseFormat: args['response-format'],
    explanationField: args['answer-field'],
    ...(args['text-prefix'] === undefined ? {} : { textPrefix: args['text-prefix'] }),
    ...(args.rejects === undefined ? {} : { rejectsPath: args.rejects }),
    ...(args['image-root'] === undefined ? {} : { imageRoot: args['image-root'] }),
    ...(args.confine ? { confine: true } : {}),
    maxBytes: args['max-bytes'],
    maxRequests: args['max-requests'] === undefined ? MAX_REQUESTS_BY_PROVIDER[args.provider] : positiveFlag('--max-requests', args['max-requests']),
    ...(args['max-shard-tokens'] === undefined ? {} : { maxShardTokens: positiveFlag('--max-shard-tokens', args['max-shard-tokens']) }),
    ...(args['token-model'] === undefined ? {} : { tokenModel: args['token-model'] }),
    maxImageBytes: args['max-image-bytes'],
    concurrency: positiveFlag('--concurrency', args.concurrency),
    readers: args.readers,
    ...imageOptionsFromArgs(args),
  };
}
