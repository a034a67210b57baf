import { PROVIDER_FILE_LIMITS } from '../core/shards/provider-limits.js';
import { HttpError } from './http.js';

/**
 * The rules of the two services the local server stands in for, chosen by the route family a
 * client uses: `/v1/…` follows OpenAI, `/openai/…` and `/openai/v1/…` follow Azure OpenAI. Each
 * limit names its source (docs/local-server.md has the table, with the sources' addresses).
 */
export type Flavor = 'openai' | 'azure';

/** 200 MB (209,715,200 B) per batch input file: OpenAI (spec `POST /files`) and Azure (global-batch-limits). */
export const MAX_INPUT_FILE_BYTES = PROVIDER_FILE_LIMITS.openai.bytes;

/** `expires_after.seconds` of files and `output_expires_after.seconds`: OpenAI 1 h–30 d (spec); Azure 14–30 d (Azure batch docs). */
export const EXPIRY_SECONDS: Record<Flavor, { min: number; max: number }> = {
  openai: { min: 3600, max: 2_592_000 },
  azure: { min: 1_209_600, max: 2_592_000 },
};

/** Batch input files, and batch output files, expire after 30 days unless told otherwise (spec `FileExpirationAfter`, Batch guide). */
export const DEFAULT_FILE_EXPIRY_SECONDS = 30 * 24 * 3600;

/** The only completion window: 24 h. OpenAI expires a batch at its end; Azure lets it run ("we don't expire the jobs"). */
export const BATCH_WINDOW_SECONDS = 24 * 3600;

/** How long an upload stays `pending` (Azure) before it is `processed`: Azure keeps files pending for a while; OpenAI's are ready at once. */
export const DEFAULT_FILE_PROCESSING_MS: Record<Flavor, number> = { openai: 0, azure: 1500 };

/** Dated Azure API versions that have the Batch API (Azure batch docs' API-version table); others are refused. */
export const AZURE_BATCH_API_VERSIONS: ReadonlySet<string> = new Set(['2024-07-01-preview', '2024-10-01-preview', '2024-10-21', '2025-03-01-preview', '2025-04-01-preview']);

/** `endpoint` of `POST /batches`: the spec's enum on OpenAI; Azure's docs use `/chat/completions` (and the `/v1/…` names). */
export const BATCH_ENDPOINTS: Record<Flavor, ReadonlySet<string>> = {
  openai: new Set(['/v1/responses', '/v1/chat/completions', '/v1/embeddings', '/v1/completions', '/v1/moderations', '/v1/images/generations', '/v1/images/edits', '/v1/videos']),
  azure: new Set(['/chat/completions', '/v1/chat/completions', '/responses', '/v1/responses']),
};

/** Models the OpenAI routes know by default: the common ones with batch pricing. A dated snapshot (`gpt-4o-2024-08-06`) of one is known too. */
export const DEFAULT_MODELS: readonly string[] = [
  'gpt-4o', 'gpt-4o-mini', 'gpt-4-turbo', 'gpt-4', 'gpt-3.5-turbo', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano',
  'gpt-5', 'gpt-5-mini', 'gpt-5-nano', 'gpt-5.1', 'o1', 'o3', 'o3-mini', 'o4-mini',
];

/**
 * Most completion tokens a request may ask of a model (OpenAI's model pages); more is a 400 of that
 * line ("max_tokens is too large: …"). Longest prefix first; unlisted models are not checked.
 */
const MAX_OUTPUT_TOKENS: Array<[string, number]> = [
  ['gpt-4o-mini', 16_384], ['gpt-4o', 16_384], ['gpt-4.1', 32_768], ['gpt-4-turbo', 4096], ['gpt-4', 8192],
  ['gpt-3.5-turbo', 4096], ['gpt-5', 128_000], ['o1', 100_000], ['o3', 100_000], ['o4-mini', 100_000],
];

export function maxOutputTokens(model: string): number | undefined {
  return MAX_OUTPUT_TOKENS.find(([prefix]) => model === prefix || model.startsWith(`${prefix}-`) || model.startsWith(`${prefix}.`))?.[1];
}

/** Whether `model` is in `known` (null: any model), directly or as a dated snapshot of one. */
export function modelKnown(known: ReadonlySet<string> | null, model: string): boolean {
  return known === null || known.has(model) || known.has(model.replace(/-\d{4}-\d{2}-\d{2}$/, ''));
}

/** The error of an unknown model, as OpenAI words it. */
export function unknownModelMessage(model: string): string {
  return `The model \`${model}\` does not exist or you do not have access to it.`;
}

/** The error of an unknown deployment, as Azure words it at batch create. */
export function unknownDeploymentMessage(deployment: string, known: ReadonlySet<string>): string {
  return `The provided model deployment '${deployment}' does not exist in the AOAI resource. Valid deployments are '${[...known].join(', ')}'. Learn more: https://aka.ms/aoai_batch/errors.`;
}

/**
 * Checks an `expires_after` object (`{anchor: 'created_at', seconds}`) against the flavor's range
 * and returns its seconds; undefined when absent. `param` names it in the error.
 */
export function checkExpiresAfter(anchor: unknown, secondsValue: unknown, flavor: Flavor, param: string): number | undefined {
  if (anchor === undefined && secondsValue === undefined) return undefined;
  if (anchor !== 'created_at') throw new HttpError(400, `Invalid value for '${param}.anchor': expected 'created_at', got ${JSON.stringify(anchor ?? null)}.`, { param: `${param}.anchor`, code: 'invalid_value' });
  const s = typeof secondsValue === 'string' && /^\d+$/.test(secondsValue) ? Number(secondsValue) : secondsValue;
  const { min, max } = EXPIRY_SECONDS[flavor];
  if (typeof s !== 'number' || !Number.isInteger(s) || s < min || s > max) {
    throw new HttpError(400, `Invalid '${param}.seconds': expected an integer from ${min} to ${max}, got ${JSON.stringify(secondsValue ?? null)}.`, { param: `${param}.seconds`, code: 'invalid_value' });
  }
  return s;
}
