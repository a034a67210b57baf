import { existsSync } from 'node:fs';
import dotenv from 'dotenv';
import { BatchExplainError, describeApiError } from '../src/errors.js';
import { safeUrl } from '../src/core/http/safe-url.js';
import type { Provider, ProviderName } from '../src/pipeline/providers.js';
import type { RunEvent } from '../src/pipeline/job/job.js';

export const providerFlags = {
  provider: { choices: ['local', 'azure', 'openai'], describe: "Where the batches go: the local server (no credentials), Azure OpenAI or OpenAI (default: the job's, else local)" },
  'env-file': { type: 'string', describe: 'Read credentials from this .env file (default ./.env when there is one; --no-env-file for none). AZURE_API_KEY, AZURE_API_URL, AZURE_API_VERSION, AZURE_ENGINE_NAME, OPENAI_API_KEY... Variables already set win' },
  'base-url': { type: 'string', describe: "Override the API URL (OPENAI_BASE_URL; the Azure resource endpoint); default the job's" },
  'local-data-dir': { type: 'string', describe: "Data folder of the local provider's server (default .batch-explain/local-server)" },
  'request-timeout': { type: 'number', default: 600, describe: 'Seconds an API call may take before it is abandoned and retried' },
  'api-retries': { type: 'number', default: 6, describe: 'Retries of an API call that failed for a passing reason (network, 429, 5xx), each said on stderr with its wait (1 s doubling, or Retry-After)' },
} as const;

/** `env-file` is false after `--no-env-file`. */
export type ProviderArgs = { provider?: ProviderName; 'env-file'?: string | false; 'base-url'?: string; 'local-data-dir'?: string; 'request-timeout'?: number; 'api-retries'?: number };

/** `--api-retries`, checked: a whole number of 0 or more. */
export function apiRetries(args: Pick<ProviderArgs, 'api-retries'>): number | undefined {
  const n = args['api-retries'];
  if (n !== undefined && !(Number.isSafeInteger(n) && n >= 0)) throw new BatchExplainError('E_OPTION', `--api-retries: expected a whole number of 0 or more, got ${n}`);
  return n;
}

/** The `.env` read when no `--env-file` is given, as the original scripts read theirs. */
export const DEFAULT_ENV_FILE = '.env';

/**
 * Loads `--env-file`, or `./.env` when there is one (not with `--no-env-file`). Variables already
 * in the environment win. Returns the file read, if any. Must run before options read the environment.
 */
export function loadEnvFile(args: Pick<ProviderArgs, 'env-file'>): string | undefined {
  const flag = args['env-file'];
  if (flag === false) return undefined;
  const file = flag ?? DEFAULT_ENV_FILE;
  if (!existsSync(file)) {
    if (flag === undefined) return undefined;
    throw new BatchExplainError('E_OPTION', `--env-file ${file}: no such file`);
  }
  dotenv.config({ path: file, quiet: true });
  return file;
}

/** Variables that hold a real provider's key, by provider. */
const KEY_VARIABLES: Record<'azure' | 'openai', string[]> = { azure: ['AZURE_API_KEY', 'AZURE_OPENAI_API_KEY'], openai: ['OPENAI_API_KEY'] };

/**
 * The provider a command uses: `--provider`, else the one the job recorded, else local. A flag
 * that contradicts the job is refused: the job's batches are where it sent them.
 */
export function providerName(args: Pick<ProviderArgs, 'provider' | 'base-url'>, job?: RunEvent, manifestPath = 'the manifest', mayMove = false): ProviderName {
  const recorded = job?.provider as ProviderName | undefined;
  if (args.provider !== undefined && recorded !== undefined && args.provider !== recorded) {
    throw new BatchExplainError('E_OPTION', `--provider ${args.provider}: the job of ${manifestPath} was submitted to ${recorded}; leave --provider out (the job's is used) or pass --provider ${recorded}`);
  }
  // A job the provider confirmed nothing of (its first URL did not answer, or was wrong) may move.
  if (!mayMove && args['base-url'] !== undefined && job?.base_url !== undefined && trimSlash(safeUrl(args['base-url'])) !== trimSlash(job.base_url)) {
    throw new BatchExplainError('E_OPTION', `--base-url ${args['base-url']}: the job of ${manifestPath} was submitted to ${job.base_url}; leave --base-url out (the job's is used)`);
  }
  return args.provider ?? recorded ?? 'local';
}

/**
 * Opens the provider from the flags and, for a job's later commands, what its manifest recorded
 * (provider, base URL, API version; never a key: keys come from the environment or `.env`).
 */
export async function providerFromArgs(args: ProviderArgs, log: (s: string) => void, job?: RunEvent, manifestPath?: string, mayMove = false): Promise<Provider> {
  const envFile = loadEnvFile(args);
  const name = providerName(args, job, manifestPath, mayMove);
  const version = job?.api_version ?? process.env.AZURE_API_VERSION ?? process.env.OPENAI_API_VERSION;
  if (name === 'azure' && version && /^\d{4}-\d{2}-\d{2}/.test(version) && version < '2024-07-01') {
    log(`batch-explain: AZURE_API_VERSION ${version} predates the Batch API (2024-07-01-preview); use 2024-10-21 or v1`);
  }
  if (name === 'local' && args.provider === undefined && job === undefined) {
    // Credentials at hand and the default provider: the user may not know the answers would be placeholders.
    for (const real of ['azure', 'openai'] as const) {
      const variable = KEY_VARIABLES[real].find((v) => process.env[v]);
      if (variable) {
        log(`batch-explain: ${variable} is set${envFile ? ` (read from ${envFile})` : ''} but the provider is local: the answers will be placeholders, not a model's. Pass --provider ${real} to use it.`);
        break;
      }
    }
  }
  // Loaded here, not at start-up: `build` and `--help` need neither the client nor the server.
  const timeout = args['request-timeout'];
  if (timeout !== undefined && !(timeout > 0)) throw new BatchExplainError('E_OPTION', `--request-timeout: expected a number of seconds above 0, got ${timeout}`);
  const baseUrl = args['base-url'] ?? job?.base_url;
  const localDataDir = args['local-data-dir'] ?? job?.local_data_dir;
  const { openProvider } = await import('../src/pipeline/providers.js');
  const provider = await openProvider({
    provider: name,
    ...(baseUrl === undefined ? {} : { baseUrl }),
    ...(job?.api_version === undefined ? {} : { apiVersion: job.api_version }),
    ...(localDataDir === undefined ? {} : { localDataDir }),
    ...(timeout === undefined ? {} : { timeoutMs: Math.round(timeout * 1000) }),
  });
  log(`batch-explain: ${provider.describe}`);
  return provider;
}

/**
 * A log of each retry of an API call: the host, what failed and the wait, so that an unreachable
 * host shows as such, not as a slowing rate.
 */
export function retryLog(label: string, provider: Provider, log: (s: string) => void): (err: unknown, attempt: number, waitMs: number) => void {
  const host = hostOf(provider.client.baseURL);
  return (err, attempt, waitMs) => log(`${label}: ${host}: ${describeApiError(err)}; try ${attempt + 1} in ${formatWait(waitMs)}`);
}

/** The host a client talks to, for messages (no credentials, no path). */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return safeUrl(url);
  }
}

/** A retry's wait in words. */
export function formatWait(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
