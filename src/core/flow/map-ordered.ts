/**
 * Maps an async source with up to `concurrency` calls of `fn` in flight, yielding results in
 * input order. At most `concurrency` results wait to be yielded, so a slow head-of-line item
 * bounds the read-ahead instead of letting it grow.
 *
 * When the consumer stops early or `signal` aborts, the signal given to `fn` aborts and the
 * calls in flight are awaited, so none touches a resource the caller is about to release.
 */
export async function* mapOrdered<I, O>(
  source: AsyncIterable<I>,
  concurrency: number,
  fn: (item: I, signal: AbortSignal) => Promise<O>,
  signal?: AbortSignal,
): AsyncGenerator<O> {
  const stop = new AbortController();
  const callSignal = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  const queue: Array<Promise<O>> = [];
  const iterator = source[Symbol.asyncIterator]();
  let done = false;
  try {
    while (true) {
      while (!done && queue.length < concurrency) {
        signal?.throwIfAborted();
        const next = await iterator.next();
        if (next.done) {
          done = true;
          break;
        }
        const pending = fn(next.value, callSignal);
        // Awaited below in order; this only keeps a rejection from being reported as unhandled meanwhile.
        pending.catch(() => {});
        queue.push(pending);
      }
      const head = queue.shift();
      if (!head) return;
      yield await head;
    }
  } finally {
    stop.abort();
    await Promise.allSettled(queue);
    if (!done) await iterator.return?.();
  }
}
