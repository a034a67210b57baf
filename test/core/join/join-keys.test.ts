import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { tempDir } from '../../helpers/server.js';
import { okLine, writeLines } from '../../helpers/results.js';

// Records the read buffer each file is read with (the real reader reads it).
const readBuffers = vi.hoisted(() => [] as unknown[]);
vi.mock('../../../src/core/io/sync-lines.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../../src/core/io/sync-lines.js')>();
  return {
    ...actual,
    bufferLines: (file: string, chunk?: number | Buffer, ...rest: unknown[]) => {
      readBuffers.push(chunk);
      return (actual.bufferLines as (...a: unknown[]) => ReturnType<typeof actual.bufferLines>)(file, chunk, ...rest);
    },
  };
});

const { addResultKeys, readPointerKey } = await import('../../../src/core/join/join-keys.js');
const { hashBytes } = await import('../../../src/core/json/id-key.js');

describe('addResultKeys', () => {
  it('indexes every file of a job through one read buffer, not one per file', async () => {
    const dir = await tempDir('be-keys-');
    const sources = await Promise.all(
      [0, 1, 2].map(async (order) => ({ path: await writeLines(path.join(dir, `out-${order}.jsonl`), [okLine(`r${order}a`, 'x'), 'not a result line', okLine(`r${order}b`, 'y')]), order })),
    );
    const entries: Array<{ key: number; text: string }> = [];
    readBuffers.length = 0;
    const bad = addResultKeys(sources, { addBytes: (key, buf, start, end) => entries.push({ key, text: buf.toString('latin1', start, end) }) }, hashBytes);
    expect(bad).toBe(3);
    // Each file's keys, with its source index and offsets: read right through the shared buffer.
    const pointers = entries.map((e) => readPointerKey({ key: e.key, buf: Buffer.from(e.text, 'latin1'), start: 0, end: e.text.length }));
    expect(pointers.map((p) => [p.src, p.literal])).toEqual([0, 0, 1, 1, 2, 2].map((s, i) => [s, JSON.stringify(`r${s}${i % 2 === 0 ? 'a' : 'b'}`)]));
    expect(readBuffers).toHaveLength(3);
    expect(Buffer.isBuffer(readBuffers[0])).toBe(true);
    expect(readBuffers.every((b) => b === readBuffers[0])).toBe(true);
  });
});
