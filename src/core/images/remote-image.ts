import type { Agent } from 'undici';
import type { RejectCode } from '../../types.js';

/**
 * Remote images (`--remote-images`): one GET per image with undici, redirects followed by hand
 * (each hop's scheme and address checked), the size cap enforced while reading, a deadline per
 * attempt (stopped while the caller's memory budget is awaited), and transient failures retried
 * (`core/http/retry.ts`: the server's `Retry-After` when it gives one, else backoff).
 */

export interface RemoteImageOptions {
  /** Largest body read; a larger `Content-Length` is refused before reading, a body growing past it is cut (the connection is closed). */
  maxBytes: number;
  /** Deadline of one attempt, headers and body, in ms. Default 30,000 (a slow drip is cut too). */
  timeoutMs?: number;
  /** Redirects followed. Default 5. */
  maxRedirects?: number;
  /** Attempts after the first, for network errors, timeouts, 408, 429 and 5xx. Default 3. */
  retries?: number;
  /** First retry delay in ms, doubling. Default 1,000. */
  minRetryDelayMs?: number;
  /** Longest `Retry-After` honoured, in ms (a longer one is waited this long). Default 60,000. */
  maxRetryAfterMs?: number;
  /** Reach private, loopback and link-local addresses too. Default false. */
  allowPrivate?: boolean;
  /** Which addresses may be connected to; replaces the policy `allowPrivate` picks. */
  allowAddress?: (address: string) => boolean;
}

export const REMOTE_DEFAULTS = { timeoutMs: 30_000, maxRedirects: 5, retries: 3, minRetryDelayMs: 1000, maxRetryAfterMs: 60_000 };

export type FetchOutcome = { ok: true; data: Buffer } | { ok: false; code: RejectCode; message: string };

/** Called with the bytes the download holds so far (its length once known), before they are read: the caller's memory budget. */
export type Reserve = (bytes: number) => Promise<void>;

/** A failure worth another try; `retryAfterMs` is what the server asked for. */
class TransientError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * The attempt's deadline, stopped while the download waits for the caller's memory budget: a row
 * waiting for room is not a slow server (it would time out, be fetched again, and end a failure).
 */
function pausableDeadline(ms: number, onExpired: () => void) {
  let left = ms;
  let startedAt = Date.now();
  let timer: NodeJS.Timeout | null = setTimeout(onExpired, left);
  return {
    pause() {
      if (timer === null) return;
      clearTimeout(timer);
      timer = null;
      left -= Date.now() - startedAt;
    },
    resume() {
      if (timer !== null) return;
      startedAt = Date.now();
      timer = setTimeout(onExpired, Math.max(0, left));
    },
    clear() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}

/**
 * Loads undici, the retry loop and the address policy (only when remote images are on: undici
 * alone costs ~19 MB of RSS, and the default build should not pay for their loading) and returns
 * a fetcher with its own connection pool.
 */
export async function remoteImageFetcher(options: RemoteImageOptions) {
  const o = { ...REMOTE_DEFAULTS, ...options };
  const [undici, { isTransientNetworkError, isTransientStatus, retry, retryAfterFromHeaders, RetriesExhaustedError, waitBeforeRetry }, { AddressRefusedError, guardedLookup, isPublicAddress, literalAddress }] =
    await Promise.all([import('undici'), import('../http/retry.js'), import('./address-policy.js')]);
  const waits = { firstWaitMs: o.minRetryDelayMs, maxBackoffMs: 60_000, maxRetryAfterMs: o.maxRetryAfterMs };
  const allow = o.allowAddress ?? (o.allowPrivate ? () => true : isPublicAddress);
  const agent: Agent = new undici.Agent({
    connect: { lookup: guardedLookup(allow), timeout: o.timeoutMs },
    headersTimeout: o.timeoutMs,
    // Off: the attempt's deadline covers the body (a slow drip too) and, unlike this idle timer,
    // stops while the download waits for the memory budget.
    bodyTimeout: 0,
  });

  async function attempt(url: string, signal: AbortSignal | undefined, reserve: Reserve): Promise<FetchOutcome> {
    // One controller per attempt, its listener removed after: AbortSignal.any on the run's
    // long-lived signal, once per image, would pile up there over millions of rows.
    const attemptController = new AbortController();
    const attemptSignal = attemptController.signal;
    let timedOut = false;
    const onAbort = () => attemptController.abort(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const deadline = pausableDeadline(o.timeoutMs, () => {
      timedOut = true;
      attemptController.abort(new Error('deadline'));
    });
    const waitForRoom = async (bytes: number) => {
      deadline.pause();
      try {
        await reserve(bytes);
      } finally {
        deadline.resume();
      }
    };
    let current = new URL(url);
    try {
      for (let hop = 0; ; hop++) {
        if (current.protocol !== 'http:' && current.protocol !== 'https:') {
          return { ok: false, code: 'E_REMOTE_REFUSED', message: `${hop ? 'redirected to' : 'URL'} ${current.href.slice(0, 200)}: only http and https are fetched` };
        }
        const literal = literalAddress(current);
        if (literal !== null && !allow(literal)) {
          return { ok: false, code: 'E_REMOTE_REFUSED', message: `${current.host} is not a public address (--remote-allow-private allows it)` };
        }
        const res = await undici.request(current, { dispatcher: agent, signal: attemptSignal, headers: { accept: 'image/*' } });
        const status = res.statusCode;
        if (REDIRECTS.has(status)) {
          await res.body.dump();
          const location = res.headers.location;
          if (typeof location !== 'string') return { ok: false, code: 'E_REMOTE_FETCH', message: `HTTP ${status} without a Location from ${current.host}` };
          if (hop >= o.maxRedirects) return { ok: false, code: 'E_REMOTE_FETCH', message: `more than ${o.maxRedirects} redirects (the last to ${location.slice(0, 200)})` };
          current = new URL(location, current);
          continue;
        }
        if (status !== 200) {
          await res.body.dump();
          if (isTransientStatus(status)) throw new TransientError(`HTTP ${status}`, retryAfterFromHeaders(res.headers));
          return { ok: false, code: 'E_REMOTE_FETCH', message: `HTTP ${status}` };
        }
        const declared = Number(res.headers['content-length'] ?? NaN);
        const tooLarge = (size: string) => ({ ok: false as const, code: 'E_IMAGE_TOO_LARGE' as const, message: `${size}, over the limit of ${o.maxBytes} bytes` });
        if (declared > o.maxBytes) {
          res.body.destroy();
          return tooLarge(`Content-Length ${declared}`);
        }
        if (declared >= 0) await waitForRoom(declared);
        const chunks: Buffer[] = [];
        let received = 0;
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          received += chunk.length;
          if (received > o.maxBytes || (declared >= 0 && received > declared)) {
            res.body.destroy();
            return tooLarge(`more than ${received - chunk.length} bytes`);
          }
          if (!(declared >= 0)) await waitForRoom(received);
          chunks.push(chunk);
        }
        return { ok: true, data: Buffer.concat(chunks, received) };
      }
    } catch (err) {
      if (signal?.aborted) throw err;
      if (err instanceof TransientError) throw err;
      if (timedOut) throw new TransientError(`no complete answer within ${o.timeoutMs / 1000} s`);
      const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
      if (err instanceof AddressRefusedError || e.cause instanceof AddressRefusedError) {
        return { ok: false, code: 'E_REMOTE_REFUSED', message: (e.cause ?? e).message };
      }
      const code = e.code ?? e.cause?.code ?? '';
      const message = `${code ? `${code}: ` : ''}${e.message}`;
      if (isTransientNetworkError(err)) throw new TransientError(message);
      return { ok: false, code: 'E_REMOTE_FETCH', message };
    } finally {
      deadline.clear();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  return {
    /** Downloads `url`; a refusal, an HTTP error, or retries run out end as an outcome, only an abort of `signal` throws. */
    async fetch(url: string, reserve: Reserve, signal?: AbortSignal): Promise<FetchOutcome> {
      try {
        return await retry(() => attempt(url, signal, reserve), {
          retries: o.retries,
          isTransient: (err) => err instanceof TransientError,
          waitMs: (err, failures) => waitBeforeRetry((err as TransientError).retryAfterMs, failures, waits),
          signal,
        });
      } catch (err) {
        if (!(err instanceof RetriesExhaustedError)) throw err;
        return { ok: false, code: 'E_REMOTE_FETCH', message: `${(err.cause as Error).message} (${err.attempts} attempt${err.attempts === 1 ? '' : 's'})` };
      }
    },
    close: () => agent.close(),
  };
}

export type RemoteImageFetcher = Awaited<ReturnType<typeof remoteImageFetcher>>;
