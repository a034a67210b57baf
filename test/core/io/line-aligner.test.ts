import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { alignToLines } from '../../../src/core/io/line-aligner.js';
import { fromString, toArray } from '../../helpers/streams.js';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

async function pieces(input: string, chunkSize: number, pieceBytes: number, maxLineBytes = 1 << 20): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const aligner = alignToLines({ maxLineBytes, pieceBytes, onTooLong: (n) => new Error(`line ${n} too long`) });
  // A Writable sees each piece as pushed, as split2 does (async iteration would join buffered pieces).
  const sink = new Writable({
    write(piece: Buffer, _encoding, callback) {
      out.push(piece);
      callback();
    },
  });
  await pipeline(fromString(input, chunkSize), aligner, sink);
  return out;
}

describe('alignToLines', () => {
  it('property: pieces join to the input, end at newlines, and stay within pieceBytes unless one line is longer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: 'grapheme', maxLength: 60 }), { maxLength: 40 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 120 }),
        async (lines, trailingNewline, chunkSize, pieceBytes) => {
          const input = lines.map((l) => l.replaceAll('\n', ' ')).join('\n') + (trailingNewline ? '\n' : '');
          const out = await pieces(input, chunkSize, pieceBytes);
          expect(Buffer.concat(out).toString('utf8')).toBe(input);
          for (const [i, piece] of out.entries()) {
            const last = i === out.length - 1;
            if (!last) expect(piece[piece.length - 1]).toBe(10);
            const newlines = piece.filter((b) => b === 10).length;
            // A piece over the size holds a single line (the one that is too long to cut).
            if (piece.length > pieceBytes && !(last && newlines === 0)) expect(newlines).toBe(1);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('fails on a line over maxLineBytes, naming its number', async () => {
    await expect(pieces(`a\nb\n${'x'.repeat(500)}\n`, 64, 16, 100)).rejects.toThrow('line 3 too long');
  });

  it('passes a 20 MB line through in one piece from 64 KB chunks', async () => {
    const long = 'y'.repeat(20_000_000);
    const out = await pieces(`{"a":1}\n${long}\n{"b":2}\n`, 65_536, 16_384, 64_000_000);
    expect(out.map((p) => p.length).sort((a, b) => b - a)[0]).toBe(20_000_001);
    expect((await toArray(fromString('', 1))).length).toBe(0);
  });
});
