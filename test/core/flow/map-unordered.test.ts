import { describe, expect, it } from 'vitest';
import { mapUnordered } from '../../../src/core/flow/map-unordered.js';

/** A promise and its resolvers, to finish calls in a chosen order. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

async function* from<T>(items: T[]) {
  yield* items;
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('mapUnordered', () => {
  it('yields in completion order, with at most `concurrency` calls and one read ahead', async () => {
    const gates = Array.from({ length: 6 }, () => deferred<void>());
    let read = 0;
    let inFlight = 0;
    let most = 0;
    async function* source() {
      for (let i = 0; i < 6; i++) {
        read++;
        yield i;
      }
    }
    const out: number[] = [];
    const consumer = (async () => {
      for await (const v of mapUnordered(source(), 3, async (i) => {
        most = Math.max(most, ++inFlight);
        await gates[i]!.promise;
        inFlight--;
        return i;
      })) out.push(v);
    })();
    await tick();
    expect(read).toBeLessThanOrEqual(4);
    for (const i of [2, 0, 4, 1, 5, 3]) {
      gates[i]!.resolve();
      await tick();
    }
    await consumer;
    expect(out).toEqual([2, 0, 4, 1, 5, 3]);
    expect(most).toBe(3);
  });

  it('ends with the first failure, after the calls in flight have seen the abort and ended', async () => {
    const ended: number[] = [];
    const run = async () => {
      for await (const _ of mapUnordered(from([0, 1, 2, 3]), 3, async (i, signal) => {
        if (i === 2) throw new Error('call 2 failed');
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        ended.push(i);
        return i;
      }));
    };
    await expect(run()).rejects.toThrow('call 2 failed');
    expect(ended.sort()).toEqual([0, 1]);
  });

  it('aborts and awaits the calls in flight when the consumer stops early', async () => {
    let aborted = 0;
    const iterator = mapUnordered(from([0, 1, 2, 3, 4]), 3, async (i, signal) => {
      if (i === 0) return new Promise<number>((resolve) => setTimeout(() => resolve(i), 20));
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      aborted++;
      return i;
    });
    for await (const v of iterator) {
      expect(v).toBe(0);
      break;
    }
    expect(aborted).toBe(2);
  });

  it('stops when its signal aborts', async () => {
    const controller = new AbortController();
    async function* endless() {
      for (let i = 0; ; i++) yield i;
    }
    const seen: number[] = [];
    const run = async () => {
      for await (const v of mapUnordered(endless(), 2, async (i) => i, controller.signal)) {
        seen.push(v);
        if (v === 10) controller.abort(new Error('enough'));
      }
    };
    await expect(run()).rejects.toThrow('enough');
    expect(seen.length).toBeLessThan(15);
  });
});
