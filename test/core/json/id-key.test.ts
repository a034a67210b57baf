import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { afterCustomIdKey, afterIdKey, plainLiteralFrom, type LiteralRange } from '../../../src/core/json/id-key.js';

const space = fc.constantFrom('', ' ', '  ', '\t', ' \r ');
const literalOf = (line: string, after: (b: Buffer, s: number, e: number) => number): string | null => {
  const buf = Buffer.from(`${line}\n"stale"`);
  const end = Buffer.byteLength(line);
  const range: LiteralRange = { buf, start: 0, end: 0 };
  return plainLiteralFrom(buf, after(buf, 0, end), end, range) ? buf.toString('utf8', range.start, range.end) : null;
};

describe('ids read where they lie', () => {
  it("finds a dataset row's id literal when it is the first key, exactly as JSON.stringify writes it, and never another's", () => {
    fc.assert(
      fc.property(fc.string(), fc.tuple(space, space, space, space), fc.boolean(), (id, [a, b, c, d], first) => {
        const rest = `"text": ${JSON.stringify(id)}, "n": 1`;
        const line = first ? `${a}{${b}"id"${c}:${d}${JSON.stringify(id)},${rest}}` : `{${rest}, "id": ${JSON.stringify(id)}}`;
        const found = literalOf(line, afterIdKey);
        if (found !== null) {
          expect(first).toBe(true);
          expect(found).toBe(JSON.stringify(JSON.parse(line).id));
        } else expect(!first || id.trim() === '' || JSON.stringify(id) !== `"${id}"`).toBe(true);
      }),
    );
  });

  it("finds a result line's custom_id first, or after a plain id, and nothing else", () => {
    fc.assert(
      fc.property(fc.string(), fc.option(fc.string({ maxLength: 12 })), fc.tuple(space, space, space), (customId, batchId, [a, b, c]) => {
        const head = batchId === null ? '' : `"id"${a}:${b}${JSON.stringify(batchId)}${c},${a}`;
        const line = `{${b}${head}"custom_id"${c}:${a}${JSON.stringify(customId)},"response":null}`;
        const found = literalOf(line, afterCustomIdKey);
        const plainBatchId = batchId === null || JSON.stringify(batchId) === `"${batchId.replace(/["\\]/g, '')}"`;
        if (found !== null) expect(found).toBe(JSON.stringify(customId));
        else expect(!plainBatchId || customId.trim() === '' || JSON.stringify(customId) !== `"${customId}"`).toBe(true);
      }),
    );
    expect(literalOf('{"response": {}, "custom_id": "x"}', afterCustomIdKey)).toBeNull();
    expect(literalOf('{"id": "a\\"b", "custom_id": "x"}', afterCustomIdKey)).toBeNull();
    expect(literalOf('{"custom_id":', afterCustomIdKey)).toBeNull();
    expect(literalOf('{"id"', afterIdKey)).toBeNull();
    expect(literalOf('{"id": "cut', afterIdKey)).toBeNull();
  });
});
