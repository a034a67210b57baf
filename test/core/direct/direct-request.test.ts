import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bodySkeleton, bodyTokenEstimator, bodyTokens, lineBuffer, requestFromBuilt, requestFromLine, type ScannedRequest } from '../../../src/core/direct/direct-request.js';
import { imageDimensions } from '../../../src/core/images/image-dimensions.js';
import { imageTokenRule, imageTokens, maxImageTokens } from '../../../src/core/requests/image-tokens.js';
import { requestLineBuilder } from '../../../src/core/requests/request-line.js';
import { segmentsToString } from '../../../src/core/shards/line-writer.js';
import { loadTextCounter, requestBodyTokens, requestTokenEstimator } from '../../../src/core/requests/token-estimate.js';
import type { DataUri } from '../../../src/types.js';

const image: DataUri = { mime: 'image/png', data: Buffer.from(Array.from({ length: 100_001 }, (_, i) => (i * 7) & 0xff)) };

/**
 * A JPEG of `width`×`height` whose SOF marker comes after `appBytes` of APP2 segments (an ICC
 * profile, say), followed by `tail` bytes of scan data: only its header is real.
 */
function jpeg(width: number, height: number, appBytes: number, tail = 60_000): DataUri {
  const parts = [Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0])];
  for (let left = appBytes; left > 0; left -= 65_000) {
    const segment = Buffer.alloc(4 + Math.min(left, 65_000), 0x41);
    segment.writeUInt16BE(0xffe2, 0);
    segment.writeUInt16BE(segment.length - 2, 2);
    parts.push(segment);
  }
  parts.push(Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, height >> 8, height & 0xff, width >> 8, width & 0xff, 0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]), Buffer.alloc(tail, 0x5a));
  return { mime: 'image/jpeg', data: Buffer.concat(parts) };
}

/** The data URI a skeleton kept, decoded: the head of the image. */
function keptImage(skeleton: Record<string, unknown>): Buffer {
  const url = (skeleton as { messages: Array<{ content: Array<{ image_url?: { url: string } }> }> }).messages[0]!.content[0]!.image_url!.url;
  return Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
}

function request(text: string | Buffer): ScannedRequest {
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

describe('requestFromBuilt', () => {
  it("takes the body at the builder's offset and the build's estimate plus the answer cap, scanning nothing", () => {
    for (const id of ['a', 'مصر "1" \\ 😂']) {
      const built = { ...requestLineBuilder({ model: 'gpt-4o', url: '/v1/chat/completions' })({ line: 4, id, prompt: 'p', image }), tokens: 900 };
      const taken: number[] = [];
      const r = requestFromBuilt(built, 4096, (size) => (taken.push(size), Buffer.alloc(size)));
      expect(r.customId).toBe(id);
      expect(r.body.toString('utf8')).toBe(JSON.stringify(JSON.parse(segmentsToString(built.segments)).body));
      expect(r).toMatchObject({ tokens: 900 + 4096, line: 4 });
      expect(taken).toEqual([built.byteLength - 1]);
      expect(r.body.buffer).toBe(r.buf.buffer);
    }
    const built = requestLineBuilder({ model: 'gpt-4o' })({ line: 1, id: 'a', prompt: 'p' });
    expect(() => requestFromBuilt(built, 10)).toThrow(/without its body offset or token estimate/);
  });
});

describe('bodySkeleton', () => {
  it('is the body parsed, each large data URI cut to the head of its image, which still gives the dimensions', () => {
    for (const [img, width, height] of [[jpeg(2048, 1024, 1000), 2048, 1024], [jpeg(600, 4000, 70_000, 300_000), 600, 4000], [image, 0, 0]] as const) {
      const built = requestLineBuilder({ model: 'gpt-4o', detail: 'high' })({ line: 1, id: 'a', prompt: 'why?', image: img });
      const body = JSON.parse(segmentsToString(built.segments)).body;
      const skeleton = bodySkeleton(Buffer.from(JSON.stringify(body)));
      const kept = keptImage(skeleton);
      expect(kept.length).toBeLessThan(img.data.length);
      // The first 4 KiB of base64 are enough unless the header is longer (then 256 KiB).
      expect(kept.length).toBeLessThanOrEqual(width === 600 ? 192 * 1024 : 3 * 1024);
      expect(img.data.subarray(0, kept.length).equals(kept)).toBe(true);
      expect(imageDimensions(kept)).toEqual(width ? { width, height } : null);
      // Everything else as JSON.parse gives it.
      const rest = structuredClone(body);
      rest.messages[0].content[0].image_url.url = (skeleton as typeof body).messages[0].content[0].image_url.url;
      expect(skeleton).toEqual(rest);
    }
  });

  it('cuts no JSON escape in two (a serialiser that writes \\/ in base64)', () => {
    // Past the header, bytes 0xfb: base64 "+/v7" over and over, so a "\/" every five characters,
    // and the cut at 4 KiB falls at every place in it as the header grows by a byte.
    for (let shift = 1; shift <= 15; shift++) {
      const img = jpeg(1500, 900, shift, 40_000);
      img.data.fill(0xfb, 60 + shift);
      const body = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/jpeg;base64,${img.data.toString('base64')}` } }] }] });
      const skeleton = bodySkeleton(Buffer.from(body.replaceAll('/', '\\/')));
      const kept = keptImage(skeleton);
      expect(kept.length).toBeGreaterThan(2_000);
      expect(imageDimensions(kept)).toEqual({ width: 1500, height: 900 });
    }
  });

  it('leaves small images, URLs and text whole, and throws on a body that is not JSON', () => {
    const body = { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${'A'.repeat(100)}` } }, { type: 'image_url', image_url: { url: 'https://x/y.jpg' } }, { type: 'text', text: `data:${'x'.repeat(40_000)}` }] }] };
    expect(bodySkeleton(Buffer.from(JSON.stringify(body)))).toEqual(body);
    expect(() => bodySkeleton(Buffer.from('{"model": "m", "messages": [1 2]}'))).toThrow(SyntaxError);
    expect(() => bodySkeleton(Buffer.from('[1]'))).toThrow(/not an object/);
    // A line whose body is not JSON inside is a reject, not a request sent to fail.
    expect(requestFromLine(Buffer.from('{"custom_id": "a", "body": {"model": "m" "x": 1}}'), 2)).toMatchObject({ field: 'body', code: 'E_BAD_JSON', customId: 'a' });
  });
});

describe('bodyTokens', () => {
  it("is the answer cap plus the build's own estimate of the line (text by the tokenizer, images by their dimensions)", async () => {
    const count = await loadTextCounter('o200k_base');
    const prompt = 'A human expert labelled this meme as: propaganda\nText extracted: مصر أولاً "quoted"';
    for (const [img, detail] of [[jpeg(2048, 1024, 1000), 'high'], [jpeg(600, 4000, 70_000), undefined], [jpeg(3000, 3000, 0), 'low']] as const) {
      for (const [model, tokenParam] of [['gpt-4o', 'max_tokens'], ['gpt-4.1-mini', 'max_completion_tokens']] as const) {
        const built = requestLineBuilder({ model, maxTokens: 700, tokenParam, ...(detail ? { detail } : {}) })({ line: 1, id: 'a', prompt, image: img });
        const dims = imageDimensions(img.data)!;
        const buildEstimate = requestTokenEstimator({ model, countText: count, ...(detail ? { detail } : {}) })({ prompt, image: dims });
        const r = request(lineBuffer(built.segments, built.byteLength));
        expect(bodyTokens(r.skeleton, count)).toBe(700 + buildEstimate);
        expect(bodyTokens(r.skeleton, count)).toBe(700 + requestBodyTokens(JSON.parse(r.body.toString('utf8')), count));
        // The image is counted by its dimensions, not as the largest possible.
        expect(buildEstimate - count(prompt) - 7).toBe(imageTokens(dims.width, dims.height, detail, imageTokenRule(model)));
      }
    }
  });

  it('counts an image whose dimensions lie past 256 KiB of base64 as the largest the model looks at; no cap counts 0', async () => {
    const count = await loadTextCounter('o200k_base');
    const built = requestLineBuilder({ model: 'gpt-4o' })({ line: 1, id: 'a', prompt: 'p', image: jpeg(512, 512, 300_000) });
    const r = request(lineBuffer(built.segments, built.byteLength));
    expect(keptImage(r.skeleton).length).toBe(0);
    expect(bodyTokens(r.skeleton, count)).toBe(4096 + 7 + count('p') + maxImageTokens(undefined, imageTokenRule('gpt-4o')));
    expect(bodyTokens({ messages: [{ role: 'user', content: 'abc' }], max_tokens: '12' }, count)).toBe(7 + count('abc'));
  });

  it("bodyTokenEstimator counts text with the tokenizer of the body's model", async () => {
    const estimate = bodyTokenEstimator();
    const text = 'مصر أولاً: the quick brown fox jumps over the lazy dog';
    const body = (model: string) => ({ model, messages: [{ role: 'user', content: [{ type: 'text', text }] }], max_tokens: 10 });
    const [o200k, cl100k] = await Promise.all([loadTextCounter('o200k_base'), loadTextCounter('cl100k_base')]);
    expect(await estimate(body('gpt-4o'))).toBe(10 + 7 + o200k(text));
    expect(await estimate(body('gpt-4'))).toBe(10 + 7 + cl100k(text));
    expect(o200k(text)).not.toBe(cl100k(text));
  });
});
