/** Waits between polls of a Batch API: by the clock, or sooner when the provider says it may have news (the local provider's in-process server). */

import { setTimeout as delay } from 'node:timers/promises';

/**
 * Listens for `news` from now on (so that news during a round of polls is not missed): `wait(ms,
 * atLeastMs)` then ends at the first news since (at once if there was some) but not before
 * `atLeastMs`, or after `ms` (rejects if `signal` is aborted); the listeners go when the wait ends
 * or on `stop()`. Without `news`, a plain wait of `ms`. Callers pass the time their round of polls
 * took as `atLeastMs`: polling then takes at most half the time, however many batches bring news.
 */
export function listenForNews(signal?: AbortSignal, news?: (signal: AbortSignal) => Promise<void>): { wait(ms: number, atLeastMs?: number): Promise<void>; stop(): void } {
  if (!news) return { wait: (ms) => delay(ms, undefined, signal ? { signal } : {}), stop: () => {} };
  const over = new AbortController();
  const either = signal ? AbortSignal.any([signal, over.signal]) : over.signal;
  const heard = news(either);
  // Left behind by the timer, it rejects once `over` is aborted: that is no failure.
  heard.catch(() => {});
  return {
    async wait(ms, atLeastMs = 0) {
      const started = Date.now();
      const timer = delay(ms, undefined, { signal: either });
      timer.catch(() => {});
      try {
        await Promise.race([timer, heard]);
        const early = Math.min(ms, atLeastMs) - (Date.now() - started);
        if (early > 0) await delay(early, undefined, { signal: either });
      } finally {
        over.abort();
      }
    },
    stop: () => over.abort(),
  };
}
