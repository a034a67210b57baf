import { describe, expect, it } from 'vitest';
import { shrinkHeap, UPLOAD_GC_BYTES, uploadGarbageCollector } from '../../bin/heap.js';

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

describe('uploadGarbageCollector (submit and run, as shards are read for upload)', () => {
  it('starts a minor collection once per UPLOAD_GC_BYTES read, however the pieces fall', () => {
    const calls: unknown[] = [];
    const onRead = uploadGarbageCollector((options) => void calls.push(options));
    const piece = 64 << 10;
    for (let read = 0; read < 3 * UPLOAD_GC_BYTES - piece; read += piece) onRead(piece);
    expect(calls).toEqual([
      { type: 'minor', execution: 'sync' },
      { type: 'minor', execution: 'sync' },
    ]);
    onRead(piece);
    expect(calls).toHaveLength(3);
    // A piece larger than the period counts once.
    onRead(3 * UPLOAD_GC_BYTES);
    expect(calls).toHaveLength(4);
  });

  it('without `gc` it counts and does nothing else', () => {
    const onRead = uploadGarbageCollector(undefined);
    expect(() => onRead(2 * UPLOAD_GC_BYTES)).not.toThrow();
  });
});
