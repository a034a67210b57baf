import { describe, expect, it } from 'vitest';
import { parseDuration, RateLimiter, type RateLimiterOptions, type Ticket } from '../../../src/core/direct/rate-limit.js';

/** A limiter on a clock that moves only when it sleeps: admission times are exact, no real time passes. */
function fakeLimiter(options: RateLimiterOptions = {}) {
  const clock = { t: 0, sleeps: [] as number[] };
  const limiter = new RateLimiter({
    ...options,
    now: () => clock.t,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      clock.sleeps.push(ms);
      clock.t += ms;
    },
  });
  /** Takes a ticket, notes when it was let through, and answers it with `headers`. */
  const go = async (tokens = 1, headers?: Record<string, string>) => {
    const ticket = await limiter.acquire(tokens);
    const at = clock.t;
    limiter.done(ticket, new Headers(headers ?? {}));
    return at;
  };
  return { limiter, clock, go };
}

describe('parseDuration', () => {
  it('reads the formats servers send in x-ratelimit-reset-*', () => {
    expect(parseDuration('6m0s')).toBe(360_000);
    expect(parseDuration('1s')).toBe(1000);
    expect(parseDuration('20ms')).toBe(20);
    expect(parseDuration('1h2m3.5s')).toBe(3_723_500);
    expect(parseDuration('7.66s')).toBeCloseTo(7660);
    expect(parseDuration('2m59.56s')).toBeCloseTo(179_560);
    expect(parseDuration('250us')).toBeCloseTo(0.25);
    expect(parseDuration(' 2 ')).toBe(2000);
    expect(parseDuration('0.5')).toBe(500);
  });

  it('reads a Unix time and a date as the time until then', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(parseDuration(String(now / 1000 + 30), now)).toBe(30_000);
    expect(parseDuration(new Date(now + 5000).toUTCString(), now)).toBe(5000);
    expect(parseDuration(new Date(now - 5000).toISOString(), now)).toBe(0);
  });

  it('is null when absent or unreadable', () => {
    for (const v of [null, undefined, '', '  ', 'soon', '5 minutes', '1x', '-1s']) expect(parseDuration(v), String(v)).toBeNull();
  });
});

describe('RateLimiter', () => {
  it('spaces requests evenly under --rpm', async () => {
    const { limiter, go } = fakeLimiter({ rpm: 600 });
    const times = [];
    for (let i = 0; i < 5; i++) times.push(await go());
    expect(times).toEqual([0, 100, 200, 300, 400]);
    expect(limiter.stats.waits).toBe(4);
  });

  it('spaces requests by their estimated tokens under --tpm', async () => {
    const { go } = fakeLimiter({ tpm: 60_000 }); // a token a millisecond
    expect([await go(100), await go(300), await go(50), await go(1)]).toEqual([0, 100, 400, 450]);
  });

  it('lets one request out until the first answer, then as many as asked', async () => {
    const { limiter } = fakeLimiter();
    const first = await limiter.acquire(1);
    let second: Ticket | null = null;
    const pending = limiter.acquire(1).then((t) => (second = t));
    await new Promise((r) => setTimeout(r, 20));
    expect(second).toBeNull();
    limiter.done(first);
    await pending;
    // Known now: the rest go at once, several in flight.
    const more = await Promise.all([limiter.acquire(1), limiter.acquire(1), limiter.acquire(1)]);
    expect(more.map((t) => t.seq)).toEqual([3, 4, 5]);
    expect(limiter.stats.waits).toBe(0);
  });

  it('waits for the reset when the server says no request is left, then has the full window', async () => {
    const { go, clock } = fakeLimiter();
    const window = (remaining: number) => ({ 'x-ratelimit-limit-requests': '3', 'x-ratelimit-remaining-requests': String(remaining), 'x-ratelimit-reset-requests': '1s' });
    expect(await go(1, window(2))).toBe(0);
    expect(await go(1, window(1))).toBe(0);
    expect(await go(1, window(0))).toBe(0);
    // None left: the next waits for the reset (a second after the last answer).
    expect(await go(1, {})).toBe(1000);
    // The window is full again (3), one spent: two more go now.
    expect(await go(1, {})).toBe(1000);
    expect(await go(1, {})).toBe(1000);
    expect(await go(1, {})).toBe(2000);
    expect(clock.sleeps).toEqual([1000, 1000]);
  });

  it('counts requests sent after the one whose answer carried the headers', async () => {
    const { limiter, clock } = fakeLimiter();
    limiter.done(await limiter.acquire(1));
    const a = await limiter.acquire(1);
    await limiter.acquire(1); // sent after a, still in flight
    // When a was answered one request was left, but the one sent since has taken it.
    limiter.done(a, new Headers({ 'x-ratelimit-remaining-requests': '1', 'x-ratelimit-reset-requests': '20ms' }));
    await limiter.acquire(1);
    expect(clock.t).toBe(20);
  });

  it('takes the requests still in flight off a window that is full again', async () => {
    const { limiter, clock } = fakeLimiter();
    limiter.done(await limiter.acquire(1), new Headers({ 'x-ratelimit-limit-requests': '2', 'x-ratelimit-remaining-requests': '1', 'x-ratelimit-reset-requests': '100ms' }));
    const a = await limiter.acquire(1); // in flight across the reset
    await limiter.acquire(1);
    expect(clock.t).toBe(100);
    // 2 - 1 in flight were left after the reset, and are spent; when the window ends is unknown:
    // a second, and then 2 less the one still in flight.
    limiter.done(a);
    await limiter.acquire(1);
    expect(clock.t).toBe(1100);
  });

  it('waits for enough tokens; a request larger than the whole window goes once it is full', async () => {
    const { go } = fakeLimiter();
    const tokens = (remaining: number) => ({ 'x-ratelimit-limit-tokens': '1000', 'x-ratelimit-remaining-tokens': String(remaining), 'x-ratelimit-reset-tokens': '6m0s' });
    expect(await go(400, tokens(600))).toBe(0);
    expect(await go(400, tokens(200))).toBe(0);
    // 200 left, 400 asked: after the reset.
    expect(await go(400, tokens(600))).toBe(360_000);
    // 600 left of a full 1000: a request of 5000 exceeds any window and goes after the next reset.
    expect(await go(5000, {})).toBe(720_000);
  });

  it('holds every request back for a pause (a 429 with Retry-After)', async () => {
    const { limiter, go } = fakeLimiter();
    await go();
    limiter.pause(5000);
    expect(await go()).toBe(5000);
    expect(await go()).toBe(5000);
    expect(limiter.stats).toMatchObject({ pauses: 1, waits: 1, waitedMs: 5000 });
  });

  it('gives up a wait when its signal aborts, and serves the next in line', async () => {
    const limiter = new RateLimiter({ rpm: 1 }); // a real clock: a minute between requests
    limiter.done(await limiter.acquire(1));
    const controller = new AbortController();
    const waiting = limiter.acquire(1, controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    const again = new AbortController();
    const next = limiter.acquire(1, again.signal);
    again.abort(new Error('stop too'));
    await expect(next).rejects.toThrow('stop too');
  });

  it('refuses caps that are not positive numbers', () => {
    for (const rpm of [0, -1, Number.NaN, Infinity]) expect(() => new RateLimiter({ rpm }), String(rpm)).toThrow(/option rpm/);
    expect(() => new RateLimiter({ tpm: 0 })).toThrow(/option tpm/);
  });
});
