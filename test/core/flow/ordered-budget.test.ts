import { describe, expect, it } from 'vitest';
import { OrderedBudget } from '../../../src/core/flow/ordered-budget.js';

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

describe('OrderedBudget', () => {
  it('makes later tickets wait until their bytes fit, in ticket order', async () => {
    const budget = new OrderedBudget(100);
    const [a, b, c, d] = [budget.ticket(), budget.ticket(), budget.ticket(), budget.ticket()];
    await a.acquire(60);
    const granted: string[] = [];
    const pb = b.acquire(60).then(() => granted.push('b'));
    const pc = c.acquire(10).then(() => granted.push('c'));
    await settle();
    // c would fit, but b (older) waits first: no overtaking.
    expect(granted).toEqual([]);
    a.finish();
    await Promise.all([pb, pc]);
    expect(granted).toEqual(['b', 'c']);
    expect(budget.used).toBe(70);
    // d is not the head (b is): it waits for room.
    let dGranted = false;
    const pd = d.acquire(50).then(() => (dGranted = true));
    await settle();
    expect(dGranted).toBe(false);
    b.finish();
    await pd;
    expect(budget.used).toBe(60);
  });

  it('never makes the head wait: an item may grow after later ones took the budget, without deadlock', async () => {
    const budget = new OrderedBudget(100);
    const head = budget.ticket();
    const later = budget.ticket();
    await head.acquire(10);
    await later.acquire(90); // the budget is full, held by an item that cannot be passed on before the head
    // Control: a non-head item asking for more waits.
    const third = budget.ticket();
    let thirdGranted = false;
    void third.acquire(10).then(() => (thirdGranted = true));
    await head.acquire(500); // the head proceeds past the limit
    expect(budget.used).toBe(600);
    await settle();
    expect(thirdGranted).toBe(false);
    head.finish();
    later.finish();
    await settle();
    expect(thirdGranted).toBe(true);
  });

  it('holdExactly grows or gives back; release never goes below zero; an abort leaves the queue', async () => {
    const budget = new OrderedBudget(100);
    const t = budget.ticket();
    await t.holdExactly(80);
    await t.holdExactly(30);
    expect([t.held, budget.used]).toEqual([30, 30]);
    t.release(1000);
    expect([t.held, budget.used]).toEqual([0, 0]);
    await t.acquire(100);
    const u = budget.ticket();
    const controller = new AbortController();
    const waiting = u.acquire(50, controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    t.finish();
    expect(budget.used).toBe(0);
  });

  it('refuses tickets finished out of order', () => {
    const budget = new OrderedBudget(100);
    budget.ticket();
    const second = budget.ticket();
    expect(() => second.finish()).toThrow(/finished before ticket 0/);
  });
});
