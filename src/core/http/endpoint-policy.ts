import ipaddr from 'ipaddr.js';
import { BatchExplainError } from '../../errors.js';
import { safeUrl } from './safe-url.js';

export { safeUrl };

/**
 * Where direct mode's secrets may go. A base URL names any server (a colleague's vLLM box, a
 * gateway, a typo): the OpenAI key in the environment is not sent there unless asked, and no
 * secret (a key, or `user:pass@` in the URL) crosses the network in plain http unless allowed.
 * URLs are shown without their credentials and query.
 */

/** The host OpenAI's own key belongs to: `OPENAI_API_KEY` is sent there without being named. */
export const OPENAI_API_HOST = 'api.openai.com';
/** The variable read for api.openai.com when `--api-key-env` is not given. */
export const OPENAI_KEY_VARIABLE = 'OPENAI_API_KEY';


/** `localhost`, `*.localhost` (RFC 6761), or a loopback IP literal (127/8, ::1, IPv4-mapped 127/8). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  return ipaddr.isValid(host) && ipaddr.process(host).range() === 'loopback';
}

export interface ApiKeyChoice {
  /** The key to send, if any. */
  apiKey?: string;
  /** The variable it came from. */
  variable?: string;
  /** Said on stderr: a key was in the environment but is not sent, and how to send it. */
  note?: string;
}

/**
 * Which key direct mode sends to `baseUrl`. Named (`--api-key-env NAME`): `$NAME`, which must be
 * set. Not named: `$OPENAI_API_KEY` to https://api.openai.com only; to any other host no key
 * (told in `note` when `OPENAI_API_KEY` is set), since a key given for OpenAI is not a local
 * server's to see.
 */
export function chooseApiKey(options: { baseUrl: string; apiKeyEnv?: string | undefined; env: NodeJS.ProcessEnv }): ApiKeyChoice {
  const { baseUrl, apiKeyEnv, env } = options;
  if (apiKeyEnv !== undefined) {
    if (apiKeyEnv.trim() === '') throw new BatchExplainError('E_OPTION', '--api-key-env: expected the name of an environment variable, got nothing');
    const apiKey = env[apiKeyEnv];
    if (!apiKey) throw new BatchExplainError('E_OPTION', `--api-key-env ${apiKeyEnv}: the variable is not set (or empty); set it, or load it with --env-file`);
    return { apiKey, variable: apiKeyEnv };
  }
  const apiKey = env[OPENAI_KEY_VARIABLE];
  if (!apiKey) return {};
  let url: URL | null = null;
  try {
    url = new URL(baseUrl);
  } catch {
    // Not a URL: the send stage says so.
  }
  if (url?.protocol === 'https:' && url.hostname.toLowerCase() === OPENAI_API_HOST) return { apiKey, variable: OPENAI_KEY_VARIABLE };
  return { note: `${OPENAI_KEY_VARIABLE} is set but not sent to ${url ? url.host : safeUrl(baseUrl)} (it is sent to ${OPENAI_API_HOST} only): --api-key-env ${OPENAI_KEY_VARIABLE} sends it` };
}

/**
 * Why secrets must not go to `url` as it is, or null: a key (`hasKey`) or `user:pass@` in the URL,
 * over plain http to a host that is not this machine, unless `allowHttp`.
 */
export function plainHttpSecretProblem(url: URL, hasKey: boolean, allowHttp: boolean): string | null {
  if (allowHttp || url.protocol !== 'http:' || isLoopbackHost(url.hostname)) return null;
  const what = hasKey ? 'an API key' : url.username || url.password ? 'the credentials in the URL' : null;
  return what && `${what} would cross the network unencrypted to ${url.host} (plain http): use https, or allow it for a network you trust (--allow-http-key)`;
}
