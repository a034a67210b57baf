/** Waits between polls of a Batch API: by the clock, or sooner when the provider says it may have news (the local provider's in-process server). */

import { setTimeout as delay } from 'node:timers/promises';

/**
 * Listens for `news` from now on (so that news during a round of polls is not missed): `wait(ms)`
 * then ends at the first news since, at once if there was some, or after `ms` (rejects if `signal`
 * is aborted); the listeners go when the wait ends or on `stop()`. Without `news`, a plain wait.
 */
export function listenForNews(signal?: AbortSignal, news?: (signal: AbortSignal) => Promise<void>): { wait(ms: number): Promise<void>; stop(): void } {
  if (!news) return { wait: (ms) => delay(ms, undefined, signal ? { signal } : {}), stop: () => {} };
  const over = new AbortController();
  const either = signal ? AbortSignal.any([signal, over.signal]) : over.signal;
  const heard = news(either);
  // Left behind by the timer, it rejects once `over` is aborted: that is no failure.
  heard.catch(() => {});
  return {
    async wait(ms) {
      const timer = delay(ms, undefined, { signal: either });
      timer.catch(() => {});
      try {
        await Promise.race([timer, heard]);
      } finally {
        over.abort();
      }
    },
    stop: () => over.abort(),
  };
}
