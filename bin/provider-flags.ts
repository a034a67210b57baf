import { existsSync } from 'node:fs';
import dotenv from 'dotenv';
import { BatchExplainError } from '../src/errors.js';
import type { Provider, ProviderName } from '../src/pipeline/providers.js';

export const providerFlags = {
  provider: { choices: ['local', 'azure', 'openai'], default: 'local', describe: 'Where the batches go: the local server (no credentials), Azure OpenAI or OpenAI' },
  'env-file': { type: 'string', describe: 'Load credentials from this .env file (AZURE_API_KEY, AZURE_API_URL, AZURE_API_VERSION, AZURE_ENGINE_NAME, OPENAI_API_KEY...)' },
  'base-url': { type: 'string', describe: 'Override the API URL (OPENAI_BASE_URL; the Azure resource endpoint)' },
  'local-data-dir': { type: 'string', describe: "Data folder of the local provider's server (default .batch-explain/local-server)" },
  'request-timeout': { type: 'number', default: 600, describe: 'Seconds an API call may take before it is abandoned and retried' },
} as const;

export type ProviderArgs = { provider: ProviderName; 'env-file'?: string; 'base-url'?: string; 'local-data-dir'?: string; 'request-timeout'?: number };

/** Loads `--env-file` (its values win, as in the original scripts). Must run before options read the environment. */
export function loadEnvFile(args: Pick<ProviderArgs, 'env-file'>): void {
  const file = args['env-file'];
  if (file === undefined) return;
  if (!existsSync(file)) throw new BatchExplainError('E_OPTION', `--env-file ${file}: no such file`);
  dotenv.config({ path: file, override: true, quiet: true });
}

export async function providerFromArgs(args: ProviderArgs, log: (s: string) => void): Promise<Provider> {
  loadEnvFile(args);
  const version = process.env.AZURE_API_VERSION ?? process.env.OPENAI_API_VERSION;
  if (args.provider === 'azure' && version && /^\d{4}-\d{2}-\d{2}/.test(version) && version < '2024-07-01') {
    log(`batch-explain: AZURE_API_VERSION ${version} predates the Batch API (2024-07-01-preview); use 2024-10-21 or v1`);
  }
  // Loaded here, not at start-up: `build` and `--help` need neither the client nor the server.
  const timeout = args['request-timeout'];
  if (timeout !== undefined && !(timeout > 0)) throw new BatchExplainError('E_OPTION', `--request-timeout: expected a number of seconds above 0, got ${timeout}`);
  const { openProvider } = await import('../src/pipeline/providers.js');
  const provider = await openProvider({
    provider: args.provider,
    ...(args['base-url'] === undefined ? {} : { baseUrl: args['base-url'] }),
    ...(args['local-data-dir'] === undefined ? {} : { localDataDir: args['local-data-dir'] }),
    ...(timeout === undefined ? {} : { timeoutMs: Math.round(timeout * 1000) }),
  });
  log(`batch-explain: ${provider.describe}`);
  return provider;
}
