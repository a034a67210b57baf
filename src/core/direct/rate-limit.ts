import { setTimeout as delay } from 'node:timers/promises';
import { optionError } from '../../errors.js';

/**
 * The rate limiter of direct mode: when the next request may go, from three sources.
 *
 * - Caps given by the user (`rpm`, `tpm`): requests and estimated tokens are spaced evenly
 *   (virtual scheduling, no burst): a request costing `t` tokens moves the token schedule by
 *   `t × 60,000 / tpm` ms, so any minute holds at most the cap plus one request.
 * - What the server says in `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` (OpenAI,
 *   Azure, Groq, vLLM behind a gateway...): `remaining` is what may still be spent until `reset`
 *   (a duration: `6m0s`, `1s`, `20ms`, `1.5s`, or plain seconds). Requests sent after the one
 *   whose answer carried the headers are taken off, so the count stays on the safe side; once
 *   the reset time is past, the window is full again (`limit`, or unknown) less what is still in
 *   flight (requests sent before the reset may count in the new window).
 * - A 429: `pause(ms)` (from `Retry-After` / `retry-after-ms`) holds every request back.
 *
 * Until the first answer comes back, one request at a time goes out: the limits are unknown,
 * and a server refusing the key or the model says so once, not `concurrency` times.
 * Requests are admitted in the order they asked (first come, first served).
 */
export interface RateLimiterOptions {
  /** Requests per minute at most. Default: no cap of our own. */
  rpm?: number;
  /** Estimated tokens per minute at most. Default: no cap of our own. */
  tpm?: number;
  /** The clock, in ms. Default `Date.now` (tests pass their own). */
  now?: () => number;
  /** Waits `ms` (rejecting when `signal` aborts). Default a timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** A request let through: give it back with {@link RateLimiter.done}. */
export interface Ticket {
  /** 1-based number of the request among those let through. */
  readonly seq: number;
  /** Estimated tokens of every request let through so far, this one included. */
  readonly sentTokens: number;
  /** This request's estimated tokens. */
  readonly tokens: number;
}

export interface RateLimiterStats {
  /** Requests that had to wait for a cap, a window or a pause (not for the first answer). */
  waits: number;
  /** Time spent waiting by the first request in line, in ms (waits overlap only through the queue). */
  waitedMs: number;
  /** Pauses asked for (429 answers). */
  pauses: number;
}

/** What the server said about one dimension (requests or tokens). */
interface Window {
  /** What may still be spent before `resetAt`; Infinity when unknown. */
  remaining: number;
  /** When the window is full again (ms on the limiter's clock); 0 when unknown. */
  resetAt: number;
  /** The full window, when the server said. */
  limit: number | null;
}

export class RateLimiter {
  readonly stats: RateLimiterStats = { waits: 0, waitedMs: 0, pauses: 0 };
  readonly #msPerRequest: number;
  readonly #msPerToken: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  #nextRequestAt = 0;
  #nextTokenAt = 0;
  #pausedUntil = 0;
  readonly #requests: Window = { remaining: Infinity, resetAt: 0, limit: null };
  readonly #tokens: Window = { remaining: Infinity, resetAt: 0, limit: null };
  #seq = 0;
  #sentTokens = 0;
  #inFlight = 0;
  #inFlightTokens = 0;
  #answered = false;
  #wakeOnAnswer: Array<() => void> = [];
  /** Admissions run one after the other, in the order asked. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: RateLimiterOptions = {}) {
    for (const name of ['rpm', 'tpm'] as const) {
      const v = options[name];
      if (v !== undefined && !(typeof v === 'number' && v > 0 && Number.isFinite(v))) throw optionError(name, v, 'a positive number');
    }
    this.#msPerRequest = options.rpm ? 60_000 / options.rpm : 0;
    this.#msPerToken = options.tpm ? 60_000 / options.tpm : 0;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, signal ? { signal } : {}));
  }

  /** Waits until a request of `tokens` estimated tokens may go. */
  acquire(tokens: number, signal?: AbortSignal): Promise<Ticket> {
    const turn = this.#queue.then(() => this.#admit(tokens, signal));
    this.#queue = turn.catch(() => {});
    return turn;
  }

  /** The answer to a request came back (any status); its headers update the windows. */
  done(ticket: Ticket, headers?: Headers): void {
    this.#inFlight--;
    this.#inFlightTokens -= ticket.tokens;
    if (headers) {
      this.#learn(this.#requests, headers, 'requests', this.#seq - ticket.seq);
      this.#learn(this.#tokens, headers, 'tokens', this.#sentTokens - ticket.sentTokens);
    }
    this.#answered = true;
    for (const wake of this.#wakeOnAnswer.splice(0)) wake();
  }

  /** Holds every request back for `ms` (a 429's `Retry-After`). */
  pause(ms: number): void {
    this.stats.pauses++;
    this.#pausedUntil = Math.max(this.#pausedUntil, this.#now() + Math.max(0, ms));
  }

  async #admit(tokens: number, signal?: AbortSignal): Promise<Ticket> {
    let waited = false;
    for (;;) {
      signal?.throwIfAborted();
      if (!this.#answered && this.#inFlight > 0) {
        // The first request is out and nothing is known yet: wait for its answer (not counted as a wait).
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => reject(signal!.reason);
          signal?.addEventListener('abort', onAbort, { once: true });
          this.#wakeOnAnswer.push(() => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          });
        });
        continue;
      }
      const now = this.#now();
      refill(this.#requests, now, this.#inFlight);
      refill(this.#tokens, now, this.#inFlightTokens);
      let until = Math.max(this.#pausedUntil, this.#nextRequestAt, this.#nextTokenAt);
      for (const [window, cost] of [[this.#requests, 1], [this.#tokens, tokens]] as const) {
        // A request larger than the whole window goes once the window is full.
        if (window.remaining >= cost || window.remaining >= (window.limit ?? Infinity)) continue;
        if (window.resetAt === 0) window.resetAt = now + UNKNOWN_RESET_MS;
        until = Math.max(until, window.resetAt);
      }
      if (until <= now) break;
      if (!waited) this.stats.waits++;
      waited = true;
      this.stats.waitedMs += until - now;
      await this.#sleep(until - now, signal);
    }
    const now = this.#now();
    if (this.#msPerRequest) this.#nextRequestAt = Math.max(this.#nextRequestAt, now) + this.#msPerRequest;
    if (this.#msPerToken) this.#nextTokenAt = Math.max(this.#nextTokenAt, now) + tokens * this.#msPerToken;
    this.#requests.remaining -= 1;
    this.#tokens.remaining -= tokens;
    this.#inFlight++;
    this.#inFlightTokens += tokens;
    this.#sentTokens += tokens;
    return { seq: ++this.#seq, sentTokens: this.#sentTokens, tokens };
  }

  #learn(window: Window, headers: Headers, what: 'requests' | 'tokens', spentSince: number): void {
    const remaining = headerNumber(headers.get(`x-ratelimit-remaining-${what}`));
    const limit = headerNumber(headers.get(`x-ratelimit-limit-${what}`));
    const reset = parseDuration(headers.get(`x-ratelimit-reset-${what}`));
    if (limit !== null) window.limit = limit;
    if (remaining === null) return;
    const now = this.#now();
    refill(window, now, what === 'requests' ? this.#inFlight : this.#inFlightTokens);
    window.remaining = Math.min(window.remaining, remaining - spentSince);
    if (reset !== null) window.resetAt = Math.max(window.resetAt, now + reset);
  }
}

/** When a window is spent and the server has not said when it resets: try again after a second. */
const UNKNOWN_RESET_MS = 1000;

/**
 * A window whose reset time has passed is full again (or unknown, until the server says), less
 * what is in flight: requests sent before the reset may be counted in the new window.
 */
function refill(window: Window, now: number, inFlight: number): void {
  if (window.resetAt !== 0 && window.resetAt <= now) {
    window.remaining = (window.limit ?? Infinity) - inFlight;
    window.resetAt = 0;
  }
}

function headerNumber(value: string | null): number | null {
  if (value === null || value.trim() === '') return null;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };

/**
 * A reset duration in ms: Go-style `6m0s`, `1h2m3.5s`, `1s`, `20ms`, `250us`; a plain number is
 * seconds (`2`, `0.5`), or a Unix time in seconds when it is that large; an HTTP or ISO date is
 * the time until it. Null when absent or unreadable.
 */
export function parseDuration(value: string | null | undefined, now: number = Date.now()): number | null {
  if (value === null || value === undefined) return null;
  const text = value.trim();
  if (text === '') return null;
  if (/^\d+(\.\d+)?$/.test(text)) {
    const n = Number(text);
    return n >= 1e9 ? Math.max(0, n * 1000 - now) : n * 1000;
  }
  if (/^(\d+(\.\d+)?(h|ms|m|s|us|µs|ns))+$/.test(text)) {
    let ms = 0;
    for (const m of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
    return ms;
  }
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
