import { BatchExplainError } from '../src/errors.js';
import type { DirectOptions, DirectProgress, DirectSummary } from '../src/pipeline/direct.js';
import { formatCount } from './format.js';

/** Flags of direct mode (`run --provider direct`, `send`); `--request-timeout` and `--base-url` are the provider flags'. */
export const directFlags = {
  'direct-concurrency': { type: 'number', default: 8, describe: '(direct) Requests in flight at once' },
  rpm: { type: 'number', describe: '(direct) Requests per minute at most (the server\'s x-ratelimit headers and 429s are followed anyway)' },
  tpm: { type: 'number', describe: "(direct) Estimated tokens per minute at most: max_tokens + the build's input estimate (text by the model's tokenizer, images by their size)" },
  'api-key-env': { type: 'string', describe: '(direct) Environment variable holding the API key, sent as a Bearer token. Unset: OPENAI_API_KEY, to https://api.openai.com only; no key to any other server' },
  'allow-http-key': { type: 'boolean', default: false, describe: '(direct) Send the key (or user:pass@ in --base-url) over plain http to another machine; refused by default' },
  'max-retries': { type: 'number', default: 6, describe: '(direct) Retries of a transient failure (network, timeout, 408, 409, 429, 5xx), with backoff' },
  'max-consecutive-failures': { type: 'number', default: 20, describe: '(direct) Stop after this many failed requests in a row (a wrong model or URL fails them all); 0: never' },
} as const;

export type DirectArgs = {
  'base-url'?: string;
  'direct-concurrency': number;
  rpm?: number;
  tpm?: number;
  'api-key-env'?: string;
  'allow-http-key': boolean;
  'request-timeout': number;
  'max-retries': number;
  'max-consecutive-failures': number;
};

export const DIRECT_RESUME_HINT = 'The answers so far are in the results folder: run the same command again to send the rest (answered rows are not sent again).';

/** Send options from flags, and what to say of the key on stderr. */
export interface DirectSettings {
  options: Omit<DirectOptions, 'resultsDir' | 'rejectsPath'>;
  /** Where the key comes from (`with the key in $NAME`), or why a key in the environment is not sent. */
  keyNote: string;
}

/**
 * Send options from flags: the base URL (or OPENAI_BASE_URL) is required; the key is the one
 * core/http/endpoint-policy.ts chooseApiKey picks (loaded here, not with the CLI: ipaddr.js costs
 * ~10 ms at every start). Call after --env-file is loaded.
 */
export async function directOptionsFromArgs(args: DirectArgs): Promise<DirectSettings> {
  const baseUrl = args['base-url'] ?? process.env.OPENAI_BASE_URL;
  if (!baseUrl) {
    throw new BatchExplainError('E_OPTION', '--provider direct needs --base-url (or OPENAI_BASE_URL): e.g. http://127.0.0.1:8000/v1 for vLLM, http://127.0.0.1:11434/v1 for Ollama');
  }
  for (const name of ['direct-concurrency', 'request-timeout'] as const) {
    if (!(args[name] > 0)) throw new BatchExplainError('E_OPTION', `--${name}: expected a positive number, got ${args[name]}`);
  }
  for (const name of ['rpm', 'tpm'] as const) {
    const v = args[name];
    if (v !== undefined && !(v > 0)) throw new BatchExplainError('E_OPTION', `--${name}: expected a positive number, got ${v}`);
  }
  const { chooseApiKey } = await import('../src/core/http/endpoint-policy.js');
  const key = chooseApiKey({ baseUrl, apiKeyEnv: args['api-key-env'], env: process.env });
  const options = {
    baseUrl,
    ...(key.apiKey ? { apiKey: key.apiKey } : {}),
    allowHttpKey: args['allow-http-key'],
    concurrency: Math.floor(args['direct-concurrency']),
    ...(args.rpm ? { rpm: args.rpm } : {}),
    ...(args.tpm ? { tpm: args.tpm } : {}),
    timeoutMs: Math.round(args['request-timeout'] * 1000),
    retries: args['max-retries'],
    maxConsecutiveFailures: args['max-consecutive-failures'],
  };
  return { options, keyNote: key.apiKey ? `with the key in $${key.variable}` : (key.note ?? 'no API key') };
}

export function formatDirectProgress(p: DirectProgress): string {
  return `direct: ${formatCount(p.sent)} sent, ${formatCount(p.succeeded)} answered, ${formatCount(p.failed)} failed, ${formatCount(p.skipped)} skipped (answered earlier); ${formatCount(p.retries)} retries, ${formatCount(p.rateLimited)} × 429, ${formatCount(p.rateLimitWaits)} rate-limit waits`;
}

/** The summary of a pass; its counts add up to the rows read. */
export function formatDirectSummary(s: DirectSummary, what = 'rows'): string {
  const lines = [
    `direct: ${formatCount(s.read)} ${what} = ${formatCount(s.succeeded)} answered + ${formatCount(s.failed)} failed + ${formatCount(s.rejects.total)} rejected + ${formatCount(s.skipped)} skipped (answered earlier)`,
    `  ${formatCount(s.retries)} retries, ${formatCount(s.rateLimited)} × 429, ${formatCount(s.rateLimitWaits)} rate-limit waits`,
  ];
  if (s.outputPath) lines.push(`  answers: ${s.outputPath}`);
  if (s.errorsPath) lines.push(`  failures: ${s.errorsPath} (sent again by the next run)`);
  if (s.rejects.total > 0) {
    lines.push(`  rejects: ${s.rejectsPath} (${Object.entries(s.rejects.byCode).map(([c, n]) => `${c} ${formatCount(n)}`).join(', ')})`);
    for (const r of s.rejects.first) lines.push(`    ${r.file ?? ''}:${r.line}: ${r.code}: ${r.message}`);
  }
  if (s.partialLinesCut > 0) lines.push(`  ${s.partialLinesCut} partial last line(s) of an interrupted run cut off`);
  return lines.join('\n');
}
