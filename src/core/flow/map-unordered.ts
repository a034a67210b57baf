/**
 * Maps an async source with up to `concurrency` calls of `fn` in flight, yielding each result as
 * soon as it is ready (completion order, not input order: a slow call holds back no other). The
 * source is read only while fewer than `concurrency` calls are running, so at most `concurrency`
 * items and one read-ahead are held.
 *
 * A call that fails ends the map with its error. When the map ends early (an error, the consumer
 * stopping, `signal` aborting), the signal given to `fn` aborts and the calls in flight are
 * awaited before the error goes on, so none outlives the map.
 */
export async function* mapUnordered<I, O>(
  source: AsyncIterable<I>,
  concurrency: number,
  fn: (item: I, signal: AbortSignal) => Promise<O>,
  signal?: AbortSignal,
): AsyncGenerator<O> {
  type Settled = { key: number; ok: true; value: O } | { key: number; ok: false; error: unknown } | { key: -1; next: IteratorResult<I> };
  const stop = new AbortController();
  const callSignal = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  const iterator = source[Symbol.asyncIterator]();
  const running = new Map<number, Promise<Settled>>();
  let pull: Promise<Settled> | null = null;
  let done = false;
  let keys = 0;
  try {
    for (;;) {
      if (!done && !pull && running.size < concurrency) {
        pull = iterator.next().then((next): Settled => ({ key: -1, next }));
        pull.catch(() => {}); // raced below; this only keeps an early exit from leaving it unhandled
      }
      if (!pull && running.size === 0) return;
      const settled = await Promise.race(pull ? [pull, ...running.values()] : running.values());
      if ('next' in settled) {
        pull = null;
        if (settled.next.done) {
          done = true;
          continue;
        }
        signal?.throwIfAborted();
        const key = keys++;
        running.set(
          key,
          fn(settled.next.value, callSignal).then(
            (value): Settled => ({ key, ok: true, value }),
            (error: unknown): Settled => ({ key, ok: false, error }),
          ),
        );
        continue;
      }
      running.delete(settled.key);
      if (!settled.ok) throw settled.error;
      yield settled.value;
    }
  } finally {
    stop.abort();
    await Promise.allSettled(running.values());
    // A read still pending would hold `return()` until the source yields (stdin may never): then it is not waited for.
    if (!done && pull) void iterator.return?.()?.catch(() => {});
    else if (!done) await iterator.return?.();
  }
}
