import { describe, expect, it } from 'vitest';
import { FAIL, JsonSkipper } from '../../../src/core/json/result-json.js';

/** `text` at `offset` of a fresh (word-aligned) buffer, so that every place in a 32-bit word is tried. */
function at(offset: number, text: string): Uint8Array {
  const bytes = Buffer.from(text);
  const b = new Uint8Array(offset + bytes.length);
  b.set(bytes, offset);
  return b;
}

describe('JSON skipper', () => {
  it('a literal cut short after an escape fails, wherever the cut falls in a word (it used to go back before the escape and loop)', () => {
    const literal = '"ab\\ncd\\u0041ef\\"g\\\\h"';
    for (let offset = 0; offset < 4; offset++) {
      for (let cut = 1; cut < literal.length; cut++) {
        const b = at(offset, literal.slice(0, cut));
        expect(new JsonSkipper().string(b, offset, b.length), `offset ${offset}, cut ${cut}`).toBe(FAIL);
        expect(new JsonSkipper().value(b, offset, b.length, 0), `offset ${offset}, cut ${cut}`).toBe(FAIL);
      }
      const whole = at(offset, literal);
      expect(new JsonSkipper().string(whole, offset, whole.length)).toBe(whole.length);
    }
  });
});
