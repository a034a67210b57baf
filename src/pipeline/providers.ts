import path from 'node:path';
import OpenAI, { AzureOpenAI } from 'openai';
import { safeUrl } from '../core/http/endpoint-policy.js';
import { BatchExplainError } from '../errors.js';
import type { BatchServer, BatchServerOptions } from '../server/server.js';
import { streamingFetch } from '../batch-api/streaming-fetch.js';

export { safeUrl };

export type ProviderName = 'local' | 'azure' | 'openai';

export interface ProviderOptions {
  provider: ProviderName;
  /** Where credentials and URLs are read from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** `local`: the server's data folder. Default `.batch-explain/local-server` under the working directory. */
  localDataDir?: string;
  /** `local`: server options (faults, responder...) for tests and experiments. */
  localServer?: Partial<BatchServerOptions>;
  /** Overrides the base URL (OpenAI: `OPENAI_BASE_URL`; Azure: the resource endpoint). */
  baseUrl?: string;
  /** Azure: overrides `AZURE_API_VERSION` (a job's recorded version, for the commands after submit). */
  apiVersion?: string;
  /**
   * The client's own retries of a request, unseen by the caller. Default 0: the pipelines retry
   * every API call themselves (withRetry: Retry-After obeyed, backoff), and say so each time.
   */
  maxRetries?: number;
  /** Per-request timeout in ms. Default 600,000. */
  timeoutMs?: number;
}

export interface Provider {
  readonly name: ProviderName;
  /** The official client, with a streaming fetch. */
  readonly client: OpenAI;
  /** The `endpoint` for batches and the `url` of request lines. */
  readonly endpoint: '/v1/chat/completions' | '/chat/completions';
  /** The deployment or model named by the environment, if any. */
  readonly model?: string;
  /** Where requests go, without credentials: for messages. */
  readonly describe: string;
  /** The API's base URL without credentials or query (not for `local`, whose port changes): recorded in a job's manifest. */
  readonly baseUrl?: string;
  /** Azure's dated `api-version` (absent for the v1 API): recorded in a job's manifest. */
  readonly apiVersion?: string;
  /** `local`: the server's data folder (absolute), recorded in a job's manifest so that a later command anywhere finds its batches. */
  readonly localDataDir?: string;
  /** The in-process server of the `local` provider. */
  readonly server?: BatchServer;
  close(): Promise<void>;
}

export const DEFAULT_LOCAL_DATA_DIR = path.join('.batch-explain', 'local-server');

/**
 * Opens a provider:
 * - `local`: starts the local server in this process on a free port (no credentials); its data
 *   folder persists, so the next command sees the batches (and finishes those still running).
 * - `azure`: `AZURE_API_KEY` / `AZURE_OPENAI_API_KEY`, `AZURE_API_URL` / `AZURE_OPENAI_ENDPOINT`,
 *   `AZURE_API_VERSION` / `OPENAI_API_VERSION`, `AZURE_ENGINE_NAME` (the deployment). An endpoint
 *   ending in `/openai/v1`, or API version `v1`, uses the v1 API; otherwise the dated `api-version` form.
 * - `openai`: `OPENAI_API_KEY`, `OPENAI_BASE_URL`.
 * Keys go to the client only: they are never part of `describe`, errors or logs.
 */
export async function openProvider(options: ProviderOptions): Promise<Provider> {
  const env = options.env ?? process.env;
  const common = { maxRetries: options.maxRetries ?? 0, timeout: options.timeoutMs ?? 600_000, fetch: streamingFetch() };
  if (options.provider === 'local') {
    const dataDir = path.resolve(options.localDataDir ?? DEFAULT_LOCAL_DATA_DIR);
    const { startBatchServer } = await import('../server/server.js');
    const server = await startBatchServer({ ...options.localServer, dataDir });
    const apiKey = options.localServer?.apiKey ?? 'local';
    return {
      name: 'local',
      client: new OpenAI({ ...common, apiKey, baseURL: `${server.url}/v1` }),
      endpoint: '/v1/chat/completions',
      describe: `local server ${server.url} (data in ${dataDir})`,
      localDataDir: dataDir,
      server,
      close: () => server.close(),
    };
  }
  if (options.provider === 'openai') {
    const apiKey = env.OPENAI_API_KEY;
    if (!apiKey) throw new BatchExplainError('E_OPTION', 'provider openai needs OPENAI_API_KEY (in the environment, in ./.env, read by default, or in --env-file FILE)');
    const baseURL = options.baseUrl ?? env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1';
    return {
      name: 'openai',
      client: new OpenAI({ ...common, apiKey, baseURL }),
      endpoint: '/v1/chat/completions',
      describe: `OpenAI at ${safeUrl(baseURL)}`,
      baseUrl: safeUrl(baseURL),
      async close() {},
    };
  }
  const apiKey = env.AZURE_API_KEY ?? env.AZURE_OPENAI_API_KEY;
  const endpoint = options.baseUrl ?? env.AZURE_API_URL ?? env.AZURE_OPENAI_ENDPOINT;
  const apiVersion = options.apiVersion ?? env.AZURE_API_VERSION ?? env.OPENAI_API_VERSION;
  const missing = [!apiKey && 'AZURE_API_KEY', !endpoint && 'AZURE_API_URL'].filter(Boolean);
  if (missing.length) throw new BatchExplainError('E_OPTION', `provider azure needs ${missing.join(' and ')} (in the environment, in ./.env, read by default, or in --env-file FILE)`);
  const deployment = env.AZURE_ENGINE_NAME ?? env.AZURE_OPENAI_DEPLOYMENT;
  const base = endpoint!.replace(/\/+$/, '');
  const v1 = /\/openai\/v1$/.test(base) || apiVersion === undefined || ['v1', 'latest', 'preview'].includes(apiVersion);
  // Never pass `deployment` to the batch client: AzureOpenAI would post batches to /deployments/{d}/batches.
  const client = v1
    ? new OpenAI({ ...common, apiKey: apiKey!, baseURL: /\/openai\/v1$/.test(base) ? `${base}/` : `${base}/openai/v1/`, defaultHeaders: { 'api-key': apiKey! } })
    : new AzureOpenAI({ ...common, apiKey: apiKey!, endpoint: base, apiVersion: apiVersion! });
  return {
    name: 'azure',
    client,
    endpoint: '/chat/completions',
    ...(deployment ? { model: deployment } : {}),
    describe: `Azure OpenAI at ${safeUrl(base)} (${v1 ? 'v1 API' : `api-version ${apiVersion}`})`,
    baseUrl: safeUrl(base),
    ...(v1 ? {} : { apiVersion: apiVersion! }),
    async close() {},
  };
}

