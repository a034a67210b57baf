import { describe, expect, it } from 'vitest';
import { shrinkHeap } from '../../bin/heap.js';

describe('shrinkHeap (run, before its merge)', () => {
  it('starts a major collection without waiting for it, and its undo can be called more than once', () => {
    const calls: unknown[] = [];
    const undo = shrinkHeap((options) => void calls.push(options));
    expect(calls).toEqual([{ type: 'major', execution: 'async' }]);
    undo();
    undo();
    expect(calls).toHaveLength(1);
  });

  it('without `gc` (Node started without --expose-gc) it collects nothing itself and does not fail', () => {
    expect(() => shrinkHeap(undefined)()).not.toThrow();
  });
});
