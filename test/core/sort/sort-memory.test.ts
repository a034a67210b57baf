import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SortMemory } from '../../../src/core/sort/sort-memory.js';
import { SyncFileWriter } from '../../../src/core/io/sync-writer.js';
import { tempDir } from '../../helpers/server.js';

const MiB = 1 << 20;

describe('SortMemory', () => {
  it('lends an arena of 1 MiB or more in one allocation with its stage, side by side; a smaller one alone, its stage made when asked for', () => {
    const memory = new SortMemory(4 * MiB + 5);
    const arena = memory.take();
    expect(arena.length).toBe(4 * MiB);
    expect(memory.stage.buffer).toBe(arena.buffer);
    expect(memory.stage.byteOffset).toBeGreaterThanOrEqual(arena.byteOffset + arena.length);
    expect(memory.stage.length).toBe(MiB);

    const small = new SortMemory(64 << 10);
    const own = small.take();
    expect(own.length).toBe(64 << 10);
    expect(small.stage.buffer).not.toBe(own.buffer);
  });

  it('keeps the arena its stage lives in when two were lent at once and both come back, in either order', () => {
    for (const order of [0, 1]) {
      const memory = new SortMemory(2 * MiB);
      const withStage = memory.take();
      const alone = memory.take();
      expect(alone.buffer).not.toBe(memory.stage.buffer);
      for (const b of order === 0 ? [withStage, alone] : [alone, withStage]) memory.give(b);
      expect(memory.take()).toBe(withStage);
    }
  });

  it('over: lends a part of another arena and shares that arena’s stage', () => {
    const parent = new SortMemory(2 * MiB);
    const arena = parent.take();
    const half = SortMemory.over(arena.subarray(0, MiB), parent.stage);
    expect(half.stage).toBe(parent.stage);
    expect(half.take().buffer).toBe(arena.buffer);
  });
});

describe('SyncFileWriter from the memory its stage is in', () => {
  it('writes the same bytes as from any other buffer: pieces short and long, at odd offsets, across flushes', async () => {
    const dir = await tempDir('be-stage-');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat({ max: MiB - 1 }), fc.nat({ max: 3000 })), { minLength: 1, maxLength: 60 }), fc.nat({ max: 7 }), async (pieces, shift) => {
        const memory = new SortMemory(MiB + 64);
        const arena = memory.take().subarray(shift);
        for (let i = 0; i < arena.length; i++) arena[i] = (i * 31 + shift) & 255;
        const file = path.join(dir, 'run.txt');
        // A stage of 4 KiB inside the same memory: pieces longer than it go straight to the file.
        const out = new SyncFileWriter(file, { stage: memory.stage.subarray(3, 3 + 4096) });
        const expected: Buffer[] = [];
        for (const [start, length] of pieces) {
          const end = Math.min(arena.length, start + length);
          out.write(arena, start, end);
          expected.push(Buffer.from(arena.subarray(start, end)));
        }
        out.close();
        expect(readFileSync(file).equals(Buffer.concat(expected))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});
