import { randomBytes } from 'node:crypto';
import { plainHttpSecretProblem, safeUrl } from '../core/http/endpoint-policy.js';
import { mapUnordered } from '../core/flow/map-unordered.js';
import { nonEmptyString, positiveInteger } from '../core/flow/options.js';
import { RateLimiter } from '../core/direct/rate-limit.js';
import type { DirectRequest } from '../core/direct/direct-request.js';
import { BatchExplainError, optionError } from '../errors.js';
import { RetriesExhaustedError, retryAfterMs, withRetry } from '../batch-api/retry.js';
import { streamingFetch } from '../batch-api/streaming-fetch.js';
import type { Stage } from '../types.js';
import type { DirectResult } from './direct-results-sink.js';

export interface SendDirectOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:8000/v1`: requests go to `<baseUrl>/chat/completions`. */
  baseUrl: string;
  /**
   * Sent as `Authorization: Bearer …` when given. Never logged, and taken out of any text written.
   * Refused over plain http to another machine unless `allowHttpKey` (so are `user:pass@` in `baseUrl`).
   */
  apiKey?: string;
  /** Send the key (or the URL's credentials) over plain http to a host that is not this machine. Default false. */
  allowHttpKey?: boolean;
  /** Requests in flight. Default 8. */
  concurrency?: number;
  /** Default: a limiter with no caps of its own (it still follows the server's headers and 429s). */
  limiter?: RateLimiter;
  /** Retries of a transient failure (network, timeout, 408, 409, 429, 5xx). Default 6. */
  retries?: number;
  /** First backoff between tries, doubling up to 60 s. Default 1000 ms. */
  minRetryDelayMs?: number;
  /** Time for one try, answer included. Default 600,000 ms (a local model can be slow). */
  timeoutMs?: number;
  /** Largest answer read. Default 64 MiB. */
  maxResponseBytes?: number;
  /** Stop the run after this many failures in a row with no success between (a wrong model or URL fails every row). 0: never. Default 20. */
  maxConsecutiveFailures?: number;
  /** Default a fetch on node:http (see streaming-fetch.ts). */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

export interface SendDirectStats {
  /** Requests sent (their first try). */
  sent: number;
  succeeded: number;
  failed: number;
  /** Tries after the first. */
  retries: number;
  /** 429 answers. */
  rateLimited: number;
}

const DEFAULTS = { allowHttpKey: false, concurrency: 8, retries: 6, minRetryDelayMs: 1000, timeoutMs: 600_000, maxResponseBytes: 64 * 1024 * 1024, maxConsecutiveFailures: 20 };

/** An HTTP answer worth another try; p-retry sees `status` (see retry.ts). */
class TransientAnswer extends Error {
  constructor(readonly status: number, readonly text: string, readonly requestId: string) {
    super(`HTTP ${status}`);
  }
}

/**
 * Stage: requests → results, by POSTing each body as it is to `<baseUrl>/chat/completions`, at
 * most `concurrency` at once, each when the limiter lets it (caps, the server's rate-limit
 * headers, 429 pauses). Results come in the order answers arrive, as Batch API output lines:
 * `{"id","custom_id","response":{"status_code","request_id","body"},"error"}`.
 *
 * - Transient failures (network, timeout, 408, 409, 429, 5xx) are retried with backoff (p-retry);
 *   a 429 also pauses every request for its `Retry-After`. Out of retries, they are failures.
 * - Other 4xx (the request itself is wrong: bad body, unknown model, too large) are failures at
 *   once, never retried. A 200 without `choices` or not JSON is a failure too.
 * - Fails the run on 401/403 (the key), and after `maxConsecutiveFailures` failures in a row.
 * Memory: `concurrency` requests (each its line's text) and their answers (≤ `maxResponseBytes`).
 */
export function sendDirect(options: SendDirectOptions): Stage<DirectRequest, DirectResult> & { readonly stats: SendDirectStats } {
  const opts = { ...DEFAULTS, ...options };
  const target = checkedEndpoint(opts);
  // As messages and result lines show it: without credentials or query.
  const endpoint = safeUrl(target);
  for (const name of ['concurrency', 'timeoutMs', 'maxResponseBytes'] as const) positiveInteger(name, opts[name]);
  for (const name of ['retries', 'minRetryDelayMs', 'maxConsecutiveFailures'] as const) {
    if (!Number.isSafeInteger(opts[name]) || opts[name] < 0) throw optionError(name, opts[name], 'a whole number, 0 or more');
  }
  const limiter = opts.limiter ?? new RateLimiter();
  const fetch = opts.fetch ?? (streamingFetch() as unknown as NonNullable<SendDirectOptions['fetch']>);
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
  // The key, and the URL's `user:pass@` as written, should a server echo them.
  const userinfo = /^[a-z][a-z\d+.-]*:\/\/([^/?#]*@)/i.exec(target)?.[1];
  const secrets: Array<[string, string]> = [...(opts.apiKey ? [[opts.apiKey, '***'] as [string, string]] : []), ...(userinfo ? [[userinfo, '***@'] as [string, string]] : [])];
  const redact = (text: string) => secrets.reduce((t, [secret, shown]) => (t.includes(secret) ? t.replaceAll(secret, shown) : t), text);
  const stats: SendDirectStats = { sent: 0, succeeded: 0, failed: 0, retries: 0, rateLimited: 0 };
  let failuresInARow = 0;
  let lastFailure = '';

  /** One try: an answer to keep (success or a failure not worth retrying), or a thrown transient failure. */
  async function attempt(request: DirectRequest, signal: AbortSignal): Promise<{ status: number; text: string; requestId: string }> {
    const ticket = await limiter.acquire(request.tokens, signal);
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    let answer: Response | undefined;
    try {
      // A Buffer is a valid body; the cast only satisfies the DOM's BodyInit too, which the test
      // build sees (playwright-core's types bring the DOM library in).
      answer = await fetch(target, { method: 'POST', headers, body: request.body as Uint8Array<ArrayBuffer>, signal: AbortSignal.any([signal, timeout]) });
      const text = await readText(answer, opts.maxResponseBytes);
      const requestId = answer.headers.get('x-request-id') ?? answer.headers.get('apim-request-id') ?? '';
      const status = answer.status;
      if (status === 429) {
        stats.rateLimited++;
        limiter.pause(retryAfterMs({ headers: answer.headers }) ?? 0);
      }
      if (status === 401 || status === 403) {
        throw new BatchExplainError('E_OPTION', `${endpoint} refused the request with HTTP ${status} (${redact(errorMessage(text))}): check the API key (--api-key-env)`);
      }
      if (status === 408 || status === 409 || status === 429 || status >= 500) throw new TransientAnswer(status, text, requestId);
      return { status, text, requestId };
    } catch (err) {
      if (timeout.aborted && !signal.aborted) throw Object.assign(new Error(`no answer within ${opts.timeoutMs} ms`), { code: 'ETIMEDOUT' });
      throw err;
    } finally {
      limiter.done(ticket, answer?.headers);
    }
  }

  async function send(request: DirectRequest, signal: AbortSignal): Promise<DirectResult> {
    stats.sent++;
    let result: DirectResult;
    try {
      const answer = await withRetry(
        (n) => {
          if (n > 1) stats.retries++;
          return attempt(request, signal);
        },
        { retries: opts.retries, signal, minTimeoutMs: opts.minRetryDelayMs },
      );
      result = resultOf(request.customId, answer.status, answer.requestId, answer.text);
    } catch (thrown) {
      // Out of retries, withRetry throws RetriesExhaustedError: its cause, the last failure, is this row's.
      const err = thrown instanceof RetriesExhaustedError ? thrown.cause : thrown;
      if (signal.aborted || err instanceof BatchExplainError) throw err;
      if (err instanceof TransientAnswer) result = resultOf(request.customId, err.status, err.requestId, err.text);
      else {
        const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
        result = failureLine(request.customId, null, '', { code: e.code ?? e.cause?.code ?? 'network_error', message: `${endpoint}: ${e.message}` });
      }
    }
    // Answered: nothing reads the request's bytes any more (after an abort they are left alone).
    request.release?.();
    result.line = redact(result.line);
    if (result.ok) {
      stats.succeeded++;
      failuresInARow = 0;
    } else {
      stats.failed++;
      lastFailure = result.line;
      if (++failuresInARow >= opts.maxConsecutiveFailures && opts.maxConsecutiveFailures > 0) {
        throw new BatchExplainError('E_INPUT', `stopped: the last ${failuresInARow} requests all failed (last: ${describeFailure(lastFailure)}). Fix the cause (--base-url, --model, the server) and run the same command again: answered rows are not sent again`);
      }
    }
    return result;
  }

  const stage = async function* sendDirectStage(source: AsyncIterable<DirectRequest>, options?: { signal?: AbortSignal }) {
    yield* mapUnordered(source, opts.concurrency, send, options?.signal);
  };
  return Object.assign(stage, { stats });
}

/**
 * The URL requests go to ({@link chatEndpoint}), checked: no secret over plain http to another
 * machine unless `allowHttpKey` (see core/http/endpoint-policy.ts). Show it with `safeUrl`.
 */
export function checkedEndpoint(options: Pick<SendDirectOptions, 'baseUrl' | 'apiKey' | 'allowHttpKey'>): string {
  const endpoint = chatEndpoint(nonEmptyString('baseUrl', options.baseUrl));
  const problem = plainHttpSecretProblem(new URL(endpoint), !!options.apiKey, options.allowHttpKey ?? false);
  if (problem) throw new BatchExplainError('E_OPTION', `option baseUrl (${safeUrl(endpoint)}): ${problem}`);
  return endpoint;
}

/** `<baseUrl>/chat/completions`, unless the URL already names it; http(s) only. */
export function chatEndpoint(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw optionError('baseUrl', safeUrl(baseUrl), 'an http(s) URL such as http://127.0.0.1:8000/v1');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw optionError('baseUrl', safeUrl(baseUrl), 'an http(s) URL such as http://127.0.0.1:8000/v1');
  const base = baseUrl.replace(/\/+$/, '');
  return base.endsWith('/chat/completions') ? base : `${base}/chat/completions`;
}

/** The answer as a Batch API line: a success when it is a 200 with a chat completion. */
function resultOf(customId: string, status: number, requestId: string, text: string): DirectResult {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    const message = `HTTP ${status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 200))}`;
    return status === 200
      ? failureLine(customId, status, requestId, { code: 'invalid_response', message })
      : failureLine(customId, status, requestId, null, JSON.stringify({ error: { message, type: 'http_error', param: null, code: null } }));
  }
  if (status === 200 && !Array.isArray((body as { choices?: unknown } | null)?.choices)) {
    return failureLine(customId, status, requestId, { code: 'invalid_response', message: `HTTP 200 without choices: ${text.slice(0, 200)}` });
  }
  const line = outputLine(customId, status, requestId, JSON.stringify(body), null);
  return { customId, ok: status === 200, line };
}

function failureLine(customId: string, status: number | null, requestId: string, error: { code: string; message: string } | null, body = 'null'): DirectResult {
  return { customId, ok: false, line: outputLine(customId, status, requestId, body, error) };
}

function outputLine(customId: string, status: number | null, requestId: string, body: string, error: { code: string; message: string } | null): string {
  const id = `direct_req_${randomBytes(12).toString('hex')}`;
  const response = status === null ? 'null' : `{"status_code":${status},"request_id":${JSON.stringify(requestId || id)},"body":${body}}`;
  return `{"id":"${id}","custom_id":${JSON.stringify(customId)},"response":${response},"error":${error ? JSON.stringify(error) : 'null'}}`;
}

/** The body of an answer, up to `limit` bytes. */
async function readText(answer: Response, limit: number): Promise<string> {
  if (!answer.body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of answer.body as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > limit) throw Object.assign(new Error(`answer over ${limit} bytes`), { code: 'response_too_large' });
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
  }
  return Buffer.concat(chunks).toString('utf8');
}

function errorMessage(text: string): string {
  try {
    const e = (JSON.parse(text) as { error?: { message?: string } | string; message?: string }) ?? {};
    return (typeof e.error === 'string' ? e.error : (e.error?.message ?? e.message)) ?? text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}

/** A failure line, told in a few words. */
function describeFailure(line: string): string {
  const r = JSON.parse(line) as { response: { status_code: number; body: unknown } | null; error: { code: string; message: string } | null };
  if (r.error) return `${r.error.code}: ${r.error.message}`;
  return `HTTP ${r.response?.status_code}: ${errorMessage(JSON.stringify(r.response?.body ?? ''))}`;
}
