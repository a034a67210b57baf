import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { leadingField } from '../../src/core/leading-field.js';

const ID = /^\s*\{\s*"id"\s*:\s*/;
const read = (line: string, lookBytes?: number) => {
  const buf = Buffer.from(`junk${line}\n`);
  return leadingField(buf, 4, buf.length - 1, ID, lookBytes);
};

describe('leadingField', () => {
  it('reads the same id as JSON.parse for string and integer ids, escapes and non-ASCII included', () => {
    const id = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('ميم_١', 'a"b', 'back\\slash', 'tab\there', '😀'), fc.integer({ min: -1e9, max: 1e9 }));
    fc.assert(
      fc.property(id, fc.constantFrom('', ' ', '\t'), (value, gap) => {
        const line = `{${gap}"id"${gap}:${gap}${JSON.stringify(value)}${gap},"text":"x"}`;
        expect(read(line)).toEqual((JSON.parse(line) as { id: unknown }).id);
      }),
      { numRuns: 500 },
    );
  });

  it('answers undefined for other shapes, so the caller parses the line', () => {
    expect(read('{"text":"x","id":"a"}')).toBeUndefined(); // id not first
    expect(read('{"id":1.5}')).toBeUndefined();
    expect(read('{"id":1e3}')).toBeUndefined();
    expect(read('{"id":null}')).toBeUndefined();
    expect(read('{"id":"unterminated')).toBeUndefined();
    expect(read('{"id":"a" "b"}')).toBeUndefined();
    expect(read('{"id":-}')).toBeUndefined();
    expect(read(`{${' '.repeat(200)}"id":"far"}`)).toBeUndefined(); // prefix past lookBytes
    expect(read('{"id":"only"}')).toBe('only');
    expect(read('{"id":-7 }')).toBe(-7);
  });
});
