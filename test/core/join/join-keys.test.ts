import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addResultKeys, readPointerKey } from '../../../src/core/join/join-keys.js';
import { hashBytes } from '../../../src/core/json/id-key.js';
import { tempDir } from '../../helpers/server.js';
import { okLine, writeLines } from '../../helpers/results.js';

describe('addResultKeys', () => {
  it('indexes every file of a job through one read buffer, not one per file', async () => {
    const dir = await tempDir('be-keys-');
    const sources = await Promise.all(
      [0, 1, 2].map(async (order) => ({ path: await writeLines(path.join(dir, `out-${order}.jsonl`), [okLine(`r${order}a`, 'x'), 'not a result line', okLine(`r${order}b`, 'y')]), order })),
    );
    const entries: Array<{ key: number; text: string }> = [];
    // A plain id is hashed where it lies: in the buffer its file was read into.
    const readInto = new Set<ArrayBufferLike>();
    const hashWhereRead = (buf: Buffer, start: number, end: number) => {
      readInto.add(buf.buffer);
      return hashBytes(buf, start, end);
    };
    const bad = addResultKeys(sources, { addBytes: (key, buf, start, end) => entries.push({ key, text: buf.toString('latin1', start, end) }) }, hashWhereRead);
    expect(bad).toBe(3);
    const pointers = entries.map((e) => readPointerKey({ key: e.key, buf: Buffer.from(e.text, 'latin1'), start: 0, end: e.text.length }));
    expect(pointers.map((p) => [p.src, p.literal, p.hash])).toEqual([0, 0, 1, 1, 2, 2].map((s, i) => {
      const literal = JSON.stringify(`r${s}${i % 2 === 0 ? 'a' : 'b'}`);
      return [s, literal, hashBytes(Buffer.from(literal), 0, literal.length)];
    }));
    expect(readInto.size).toBe(1);
  });
});
