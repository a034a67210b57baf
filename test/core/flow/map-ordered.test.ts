import { describe, expect, it } from 'vitest';
import { mapOrdered } from '../../../src/core/flow/map-ordered.js';
import { ByteBudget } from '../../../src/core/flow/byte-budget.js';
import { fromArray, toArray } from '../../helpers/streams.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('mapOrdered', () => {
  it('keeps input order when calls finish out of order, with at most `concurrency` in flight', async () => {
    let inflight = 0;
    let peak = 0;
    const out = await toArray(
      mapOrdered(fromArray([30, 5, 20, 1, 15, 2, 8]), 3, async (ms) => {
        peak = Math.max(peak, ++inflight);
        await sleep(ms);
        inflight--;
        return ms * 10;
      }),
    );
    expect(out).toEqual([300, 50, 200, 10, 150, 20, 80]);
    expect(peak).toBe(3);
  });

  it('pulls at most `concurrency` items ahead of a consumer that does not pull (control: a larger concurrency pulls more)', async () => {
    for (const concurrency of [2, 6]) {
      let pulled = 0;
      async function* source() {
        for (let i = 0; i < 100; i++) {
          pulled++;
          yield i;
        }
      }
      const it = mapOrdered(source(), concurrency, async (x) => x)[Symbol.asyncIterator]();
      await it.next();
      await sleep(20);
      expect(pulled).toBeLessThanOrEqual(concurrency + 1);
      expect(pulled).toBeGreaterThanOrEqual(concurrency);
      await it.return?.(undefined);
    }
  });

  it('aborts the calls in flight and waits for them when the consumer stops', async () => {
    const settled: number[] = [];
    const gen = mapOrdered(fromArray([1, 2, 3, 4, 5]), 4, async (x, signal) => {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, x === 1 ? 0 : 10_000);
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        });
      });
      settled.push(x);
      return x;
    });
    for await (const x of gen) {
      expect(x).toBe(1);
      break;
    }
    expect(settled.sort()).toEqual([1, 2, 3, 4]);
  });

  it('rethrows a failed call in order', async () => {
    const gen = mapOrdered(fromArray([1, 2, 3]), 3, async (x) => {
      if (x === 2) throw new Error('boom');
      return x;
    });
    const seen: number[] = [];
    await expect((async () => {
      for await (const x of gen) seen.push(x);
    })()).rejects.toThrow('boom');
    expect(seen).toEqual([1]);
  });
});

describe('ByteBudget', () => {
  it('admits up to the limit, first come first served, and one oversized request alone', async () => {
    const budget = new ByteBudget(100);
    const order: string[] = [];
    await budget.acquire(60);
    const b = budget.acquire(50).then(() => order.push('b'));
    const c = budget.acquire(10).then(() => order.push('c')); // fits, but waits behind b
    await sleep(5);
    expect(order).toEqual([]);
    budget.release(60);
    await Promise.all([b, c]);
    expect(order).toEqual(['b', 'c']);
    expect(budget.used).toBe(60);
    budget.release(60);
    await budget.acquire(500); // larger than the whole budget: let through when nothing else is held
    expect(budget.used).toBe(500);
  });

  it('rejects a waiter whose signal aborts and serves the next one', async () => {
    const budget = new ByteBudget(10);
    await budget.acquire(10);
    const controller = new AbortController();
    const aborted = budget.acquire(5, controller.signal);
    const next = budget.acquire(5);
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    budget.release(10);
    await next;
    expect(budget.used).toBe(5);
  });
});
