import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { estimateBodyTokens, IMAGE_TOKENS, lineBuffer, requestFromLine, type DirectRequest } from '../../src/core/direct-request.js';
import { requestLineBuilder } from '../../src/core/request-line.js';
import { segmentsToString } from '../../src/core/line-writer.js';
import type { DataUri } from '../../src/types.js';

const image: DataUri = { mime: 'image/png', data: Buffer.from(Array.from({ length: 100_001 }, (_, i) => (i * 7) & 0xff)) };

function request(text: string | Buffer): DirectRequest {
  const r = requestFromLine(Buffer.from(text), 1);
  if ('code' in r) throw new Error(r.message);
  return r;
}

describe('lineBuffer', () => {
  it('writes the segments as segmentsToString joins them, the image encoded in slices', () => {
    for (const prompt of ['p', 'مصر أولاً 😂 "quoted"']) {
      const line = requestLineBuilder({ model: 'gpt-4o', detail: 'high' })({ line: 1, id: 'a', prompt, image });
      expect(lineBuffer(line.segments, line.byteLength).toString('utf8')).toBe(segmentsToString(line.segments));
      expect(lineBuffer(line.segments, line.byteLength).length + 1).toBe(line.byteLength);
    }
  });
});

describe('requestFromLine', () => {
  it('cuts custom_id and body out of a built line, the body byte for byte', () => {
    for (const options of [{ model: 'gpt-4o' }, { model: 'نموذج', detail: 'low' as const, responseFormat: 'json_schema' as const, tokenParam: 'max_completion_tokens' as const }]) {
      const built = requestLineBuilder(options)({ line: 7, id: 'meme "7" \\ é', prompt: 'why?\n"quoted" {braces} [brackets] \\', image });
      const line = lineBuffer(built.segments, built.byteLength);
      const r = request(line);
      expect(r.customId).toBe('meme "7" \\ é');
      expect(r.body.toString('utf8')).toBe(JSON.stringify(JSON.parse(line.toString('utf8')).body));
      expect(r.line).toBe(1);
    }
  });

  it('reads any object with a string custom_id and an object body, whatever the spacing and key order', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((s) => s.trim() !== ''),
        fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }),
        fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== 'custom_id' && k !== 'body'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
        fc.constantFrom(undefined, 1, '\t'),
        fc.boolean(),
        (id, body, rest, indent, bodyFirst) => {
          const value = bodyFirst ? { body, ...rest, custom_id: id } : { custom_id: id, ...rest, body };
          const text = JSON.stringify(value, null, indent);
          const r = request(text);
          expect(r.customId).toBe(id);
          // As JSON gives it back (-0 is written 0).
          expect(JSON.parse(r.body.toString('utf8'))).toEqual(JSON.parse(JSON.stringify(body)));
        },
      ),
    );
  });

  it('says what is wrong with a line that is not a request line, with a reject code', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['not json', 'E_BAD_JSON', /not valid JSON/],
      ['{"custom_id": "a", "body": {"model": "m"', 'E_BAD_JSON', /not valid JSON/],
      ['{"custom_id": "a", "body": {}} trailing', 'E_BAD_JSON', /not valid JSON/],
      ['{"custom_id" "a"}', 'E_BAD_JSON', /not valid JSON/],
      ['[1, 2]', 'E_NOT_OBJECT', /not an object/],
      ['"text"', 'E_NOT_OBJECT', /not an object/],
      ['{"body": {}}', 'E_MISSING_FIELD', /"custom_id" is missing/],
      ['{"custom_id": 12, "body": {}}', 'E_FIELD_TYPE', /"custom_id" must be a string/],
      ['{"custom_id": "  ", "body": {}}', 'E_EMPTY_FIELD', /"custom_id" is empty/],
      ['{"custom_id": "a", "body": "text"}', 'E_FIELD_TYPE', /"body" must be an object/],
      ['{"custom_id": "a", "method": "POST"}', 'E_MISSING_FIELD', /"body" is missing/],
    ];
    for (const [text, code, message] of cases) {
      const r = requestFromLine(Buffer.from(text), 3);
      expect(r, text).toMatchObject({ code });
      expect('message' in r && r.message, text).toMatch(message);
    }
    expect(requestFromLine(Buffer.from('{"custom_id": "a"}'), 1)).toMatchObject({ customId: 'a' });
  });

  it('agrees with JSON.parse on lines that are or are not JSON', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (junk) => {
        const text = `{"custom_id": "a", "body": {"x": ${JSON.stringify(junk)}}}${junk.trim() === '' ? '' : junk}`;
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        expect('code' in requestFromLine(Buffer.from(text), 1)).toBe(!valid);
      }),
    );
  });
});

describe('estimateBodyTokens', () => {
  it('is the answer cap, a token per four bytes of text, and a fixed count per image', () => {
    const estimate = (json: string) => estimateBodyTokens(Buffer.from(json));
    // Strings: "m" (1) "user" (4) "text" (4) "abcd" (4) = 13 bytes → 4 tokens.
    expect(estimate('{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"abcd"}]}],"max_tokens":10}')).toBe(14);
    // Arabic letters are two bytes each: "m" (1) "مصر" (6) = 7 bytes → 2 tokens.
    expect(estimate('{"model":"m","messages":[{"content":"مصر"}],"max_tokens":10}')).toBe(12);
    // The data URI is not text; "image_url" (9) and "low" (3) are: 12 bytes → 3 tokens.
    const low = '{"messages":[{"content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}}]}],"max_completion_tokens":7}';
    expect(estimate(low)).toBe(7 + 3 + IMAGE_TOKENS.low);
    const high = low.replace('"low"', '"high"');
    // "image_url" (9) and "high" (4): 13 bytes → 4 tokens.
    expect(estimate(high)).toBe(7 + 4 + IMAGE_TOKENS.high);
    // No cap in the body: the text and images only. A max_tokens inside a message is not the cap.
    expect(estimate('{"messages":[{"content":"12345678","max_tokens":999}]}')).toBe(2);
  });

  it('estimates a built request line: cap + prompt + image', () => {
    const built = requestLineBuilder({ model: 'gpt-4o', maxTokens: 500 })({ line: 1, id: 'a', prompt: 'x'.repeat(400), image });
    const r = request(lineBuffer(built.segments, built.byteLength));
    // 400 characters of prompt and a few short strings (model, role, types).
    expect(r.tokens).toBeGreaterThanOrEqual(500 + 100 + IMAGE_TOKENS.high);
    expect(r.tokens).toBeLessThan(500 + 110 + IMAGE_TOKENS.high);
  });
});
