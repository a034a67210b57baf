/**
 * Stage: pulls its source as fast as the source produces and queues the items for a slower
 * consumer, so the producer finishes its work while the consumer waits. For small items only:
 * the queue is not bounded (shard records: a few hundred bytes each, ~1,000 of them for a
 * million rows of 185 kB requests).
 *
 * A failure of the source is thrown to the consumer once the items before it are taken; when
 * the consumer stops early, the source is left to the caller's pipeline to stop.
 */
export async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const queue: T[] = [];
  let done = false;
  let failure: { error: unknown } | null = null;
  let wake = null as (() => void) | null;
  const pump = (async () => {
    try {
      for await (const item of source) {
        queue.push(item);
        wake?.();
      }
    } catch (error) {
      failure = { error };
    } finally {
      done = true;
      wake?.();
    }
  })();
  for (;;) {
    if (queue.length > 0) {
      yield queue.shift()!;
      continue;
    }
    if (failure) throw (failure as { error: unknown }).error;
    if (done) break;
    await new Promise<void>((resolve) => (wake = resolve));
    wake = null;
  }
  await pump;
}
