import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { imageDimensions } from '../../../src/core/images/image-dimensions.js';
import { fitForTiles, imageTokenRule, imageTokens, maxImageTokens, patchCount } from '../../../src/core/requests/image-tokens.js';
import { compilePrompt } from '../../../src/core/requests/prompt.js';
import { segmentsToString } from '../../../src/core/shards/line-writer.js';
import { loadTextCounter, MESSAGE_TOKENS, REPLY_TOKENS, requestBodyTokens, requestTokenEstimator, slicedCounter, textEncodingFor, wordCachedCounter, type TextCounter } from '../../../src/core/requests/token-estimate.js';
import { toRequestLine } from '../../../src/stages/to-request-line.js';
import { tempDir } from '../../helpers/server.js';
import type { DatasetRow, EncodedImage, PromptedRow } from '../../../src/types.js';

const fixtures = fileURLToPath(new URL('../../../fixtures/images/', import.meta.url));
const rule = imageTokenRule;

describe('image tokens (OpenAI vision guide, "Calculating costs")', () => {
  it('tile models: fit in 2048×2048, shortest side down to 768, 512-px tiles × per-tile + base', () => {
    // 1024×1024: fits; shortest side 1024 → ×0.75 → 768×768; 2×2 tiles; 85 + 4 × 170 = 765.
    expect(fitForTiles(1024, 1024)).toEqual([768, 768]);
    expect(imageTokens(1024, 1024, 'high', rule('gpt-4o'))).toBe(765);
    // 2048×4096: ×0.5 → 1024×2048; ×0.75 → 768×1536; 2×3 tiles; 85 + 6 × 170 = 1105.
    expect(fitForTiles(2048, 4096)).toEqual([768, 1536]);
    expect(imageTokens(2048, 4096, 'high', rule('gpt-4o'))).toBe(1105);
    // 4000×1000: ×0.512 → 2048×512; shortest side 512 is under 768, kept; 4×1 tiles; 85 + 680 = 765.
    expect(imageTokens(4000, 1000, 'high', rule('gpt-4.1'))).toBe(765);
    // Small images are not scaled up: 60×40 is one tile, 85 + 170 = 255; 513×513 is 2×2 tiles.
    expect(imageTokens(60, 40, 'high', rule('gpt-4o'))).toBe(255);
    expect(imageTokens(513, 513, 'high', rule('gpt-4o'))).toBe(765);
    // `auto` (and `detail` left out) counts as `high`, an upper bound; `low` is the base alone.
    expect(imageTokens(2048, 4096, 'auto', rule('gpt-4o'))).toBe(1105);
    expect(imageTokens(2048, 4096, undefined, rule('gpt-4o'))).toBe(1105);
    expect(imageTokens(2048, 4096, 'low', rule('gpt-4o'))).toBe(85);
  });

  it('per family: gpt-4o-mini 2833/5667, o1/o3 75/150, gpt-5 70/140, computer-use 65/129', () => {
    expect(imageTokens(1024, 1024, 'high', rule('gpt-4o-mini'))).toBe(2833 + 4 * 5667); // 25,501
    expect(imageTokens(1024, 1024, 'low', rule('gpt-4o-mini-batch'))).toBe(2833);
    expect(imageTokens(1024, 1024, 'high', rule('o3'))).toBe(75 + 4 * 150);
    expect(imageTokens(2048, 4096, 'high', rule('gpt-5'))).toBe(70 + 6 * 140);
    expect(imageTokens(1024, 1024, 'high', rule('computer-use-preview'))).toBe(65 + 4 * 129);
  });

  it('patch models: 32-px patches, at most 1536 after scaling down, × the multiplier', () => {
    // 1024×1024 → 32 × 32 = 1024 patches; × 1.62 = 1658.88 → 1659 (gpt-4.1-mini).
    expect(patchCount(1024, 1024)).toBe(1024);
    expect(imageTokens(1024, 1024, 'high', rule('gpt-4.1-mini'))).toBe(1659);
    // 1800×2400 → 57 × 75 = 4275 > 1536: r = √(1024·1536/(1800·2400)) ≈ 0.6034, then shrunk so the
    // width is 33 whole patches: 1056×1408 → 33 × 44 = 1452 patches.
    expect(patchCount(1800, 2400)).toBe(1452);
    expect(imageTokens(1800, 2400, 'high', rule('gpt-4.1-nano'))).toBe(Math.ceil(1452 * 2.46)); // 3572
    expect(imageTokens(1800, 2400, 'low', rule('o4-mini'))).toBe(Math.ceil(1452 * 1.72)); // 2498: no low rule
    expect(imageTokens(1024, 1024, undefined, rule('gpt-5-mini'))).toBe(1659);
  });

  it('reads the family from loose (Azure deployment) names; unknown names count as gpt-4o', () => {
    expect(rule('gpt-41-mini')).toEqual({ kind: 'patch', multiplier: 1.62 });
    expect(rule('prod-gpt-4o-mini-batch')).toEqual({ kind: 'tile', base: 2833, tile: 5667 });
    expect(rule('gpt-4o-2024-08-06')).toEqual({ kind: 'tile', base: 85, tile: 170 });
    expect(rule('my-batch-deployment')).toEqual({ kind: 'tile', base: 85, tile: 170 });
    expect(textEncodingFor('gpt-35-turbo')).toBe('cl100k_base');
    expect(textEncodingFor('gpt-4-turbo')).toBe('cl100k_base');
    expect(textEncodingFor('gpt-4o')).toBe('o200k_base');
    expect(textEncodingFor('gpt-4.1-mini')).toBe('o200k_base');
    expect(textEncodingFor('o4-mini')).toBe('o200k_base');
  });

  it('an image of unknown size counts as the largest a model looks at (768×2048 for tiles)', () => {
    expect(maxImageTokens(undefined, rule('gpt-4o'))).toBe(85 + 8 * 170);
    expect(maxImageTokens('low', rule('gpt-4o'))).toBe(85);
    expect(maxImageTokens('high', rule('gpt-4.1-mini'))).toBe(Math.ceil(1536 * 1.62));
  });
});

describe('image dimensions from the header', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('be-dims-');
    await sharp({ create: { width: 1024, height: 1024, channels: 3, background: '#808080' } }).png().toFile(path.join(dir, 'square.png'));
    await sharp({ create: { width: 2048, height: 4096, channels: 3, background: '#204080' } }).jpeg().toFile(path.join(dir, 'tall.jpg'));
    await sharp({ create: { width: 1800, height: 2400, channels: 3, background: '#a0a0a0' } }).webp().toFile(path.join(dir, 'photo.webp'));
  });

  it('reads JPEG, PNG, WEBP and GIF sizes without decoding; null for a damaged header', async () => {
    expect(imageDimensions(await readFile(path.join(dir, 'square.png')))).toEqual({ width: 1024, height: 1024 });
    expect(imageDimensions(await readFile(path.join(dir, 'tall.jpg')))).toEqual({ width: 2048, height: 4096 });
    expect(imageDimensions(await readFile(path.join(dir, 'photo.webp')))).toEqual({ width: 1800, height: 2400 });
    expect(imageDimensions(await readFile(path.join(fixtures, 'chart.gif')))).toEqual({ width: 60, height: 40 });
    expect(imageDimensions(Buffer.from('<html>404</html>'))).toBeNull();
    expect(imageDimensions(Buffer.alloc(0))).toBeNull();
  });

  it('estimates whole requests: overhead + prompt tokens + the image from its header (gpt-4o high)', async () => {
    const count = await loadTextCounter('o200k_base');
    const estimate = requestTokenEstimator({ model: 'gpt-4o', detail: 'high', countText: count });
    const cases: Array<[string, number]> = [
      ['square.png', 765], // 1024×1024, as above
      ['tall.jpg', 1105], // 2048×4096
      ['photo.webp', 85 + 170 * 2 * 2], // 1800×2400 → 1536×2048 → 768×1024 → 2×2 tiles = 765
    ];
    for (const [file, image] of cases) {
      const size = imageDimensions(await readFile(path.join(dir, file)))!;
      // "hello world" is 2 tokens in o200k_base; 4 + 3 tokens of chat overhead.
      expect(estimate({ prompt: 'hello world', image: size })).toBe(2 + MESSAGE_TOKENS + REPLY_TOKENS + image);
    }
    expect(estimate({ prompt: 'hello world', image: 'https://example.org/x.png' })).toBe(2 + 7 + 85 + 8 * 170);
    expect(estimate({ prompt: 'hello world' })).toBe(9);
  });

  it('estimates a row whose text or label is 300,000 letters without a space in slices, not in minutes', async () => {
    const count = await loadTextCounter('o200k_base');
    const estimate = requestTokenEstimator({ model: 'gpt-4o', countText: count, promptHead: (label) => `Explain why this is ${label}.\nText extracted: ` });
    const run = 'مصر'.repeat(100_000);
    // 2,000 tokens per 1,000 "مصر" counted whole; in slices within 1% of it (see slicedCounter).
    const text = estimate({ prompt: `Explain why this is propaganda.\nText extracted: ${run}`, label: 'propaganda', text: run });
    expect(Math.abs(text - 200_000)).toBeLessThan(2000);
    const label = estimate({ prompt: `Explain why this is ${run}.\nText extracted: x`, label: run, text: 'x' });
    expect(Math.abs(label - 200_000)).toBeLessThan(2000);
    const noLabel = estimate({ prompt: run });
    expect(Math.abs(noLabel - 200_000)).toBeLessThan(2000);
  });
});

describe('prompt tokens', () => {
  let o200k: TextCounter;
  let cl100k: TextCounter;
  beforeAll(async () => {
    o200k = await loadTextCounter('o200k_base');
    cl100k = await loadTextCounter('cl100k_base');
  });

  it('counts special-token text as text, never refusing a row', () => {
    expect(o200k('<|endoftext|>')).toBeGreaterThan(1);
    expect(cl100k('hello <|im_start|> world')).toBeGreaterThan(3);
  });

  it('counts the prompt head once per label and gives exactly the whole prompt\'s count (property)', async () => {
    const template = (await readFile(fileURLToPath(new URL('../../../prompts/armeme_explanation_arabic.txt', import.meta.url)), 'utf8')).trim();
    const text = fc.string({ unit: fc.constantFrom('a', 'ب', ' ', '\n', '\t', '.', '}', '😂', '<|endoftext|>', 'Text', '٩'), maxLength: 40 });
    const prefix = fc.constantFrom('\nText extracted: ', '\n', '\n\n', ' | ', 'Text: ', '\nNOTE\n  ');
    const label = fc.constantFrom('propaganda', 'not-propaganda', 'hateful', 'a}', '');
    for (const count of [o200k, cl100k]) {
      let calls = 0;
      const counting: TextCounter = (s) => {
        calls++;
        return count(s);
      };
      fc.assert(
        fc.property(fc.array(fc.tuple(label, fc.option(text, { nil: undefined })), { minLength: 1, maxLength: 12 }), prefix, (rows, textPrefix) => {
          const render = compilePrompt(template, { textPrefix });
          const estimate = requestTokenEstimator({ model: 'gpt-4o', countText: counting });
          // Told the head (as build does), or finding it in each prompt: the same count.
          const told = requestTokenEstimator({ model: 'gpt-4o', countText: counting, promptHead: (l) => render.head(l) });
          for (const [l, t] of rows) {
            const prompt = render(l, t);
            const input = { prompt, label: l, ...(t === undefined ? {} : { text: t }) };
            expect(estimate(input)).toBe(count(prompt) + MESSAGE_TOKENS + REPLY_TOKENS);
            expect(told(input)).toBe(count(prompt) + MESSAGE_TOKENS + REPLY_TOKENS);
          }
        }),
        { numRuns: 60 },
      );
      expect(calls).toBeGreaterThan(0);
    }
  });

  it('counts word by word through a cache exactly as the whole text (property, both encodings)', () => {
    const piece = fc.constantFrom(' ', '  ', '\t', '\n', '\u00a0', 'a', 'The', 'ب', 'مصر', '12', '3456', '.', ',', '!!', "'s", '😂', '🇪🇬', '\u0301', 'x'.repeat(40), '<|endoftext|>', '-', '/');
    for (const count of [o200k, cl100k]) {
      const cached = wordCachedCounter(count);
      fc.assert(
        fc.property(fc.array(piece, { maxLength: 30 }), (parts) => {
          const text = parts.join('');
          expect(cached(text)).toBe(count(text));
          expect(cached(text)).toBe(count(text)); // and again, from the cache
        }),
        { numRuns: 300 },
      );
    }
  });

  it('with the default prefix, a label\'s head is tokenized once and each row costs only its text', () => {
    const seen: string[] = [];
    const estimate = requestTokenEstimator({ model: 'gpt-4o', countText: (s) => (seen.push(s), o200k(s)) });
    const render = compilePrompt('A long prompt about {}.\nAnswer in JSON {"explanation": "..."}.');
    for (const t of ['one', 'two\nlines', 'three']) estimate({ prompt: render('hateful', t), label: 'hateful', text: t });
    // The head once, word by word like the rows' texts (exact; a label of thousands of letters
    // goes in slices); then each row's text word by word, each word once.
    const head = ['A', ' long', ' prompt', ' about', ' hateful.\nAnswer', ' in', ' JSON', ' {"explanation":', ' "..."}.\n'];
    expect(seen).toEqual([...head, 'Text', ' extracted:', ' one', ' two\nlines', ' three']);
    expect(estimate({ prompt: render('hateful', 'one'), label: 'hateful', text: 'one' })).toBe(o200k(render('hateful', 'one')) + 7);
  });
});

describe('slicedCounter', () => {
  it('counts text in words exactly, and a long run without a space in slices, close to the whole and without splitting a character', async () => {
    const count = await loadTextCounter('o200k_base');
    const pieces: string[] = [];
    const sliced = slicedCounter((t) => (pieces.push(t), count(t)));
    const words = 'مصر أولاً the quick brown fox 😂 '.repeat(400);
    expect(wordCachedCounter(sliced)(words)).toBe(count(words));
    expect(sliced('short text')).toBe(count('short text'));
    // 300,000 letters without a space: counted whole, minutes; in slices, a blink, within 1% of the
    // exact rate (2,000 tokens per 1,000 "مصر").
    const run = 'مصر'.repeat(100_000);
    expect(count('مصر'.repeat(1000))).toBe(2000);
    expect(Math.abs(sliced(run) - 200_000)).toBeLessThan(2000);
    pieces.length = 0;
    // An odd start puts every cut of 256 units inside an emoji: it moves back one.
    sliced(`a${'😂'.repeat(300)}`);
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces.join('')).toBe(`a${'😂'.repeat(300)}`);
    for (const p of pieces) {
      expect(p.length).toBeLessThanOrEqual(256);
      expect(p).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
    }
  });
});

describe('toRequestLine token estimates', () => {
  it('puts on each line the estimate the local server computes from the line itself', async () => {
    const rows: Array<DatasetRow & PromptedRow & EncodedImage> = [];
    for (const [i, file] of ['banner.jpg', 'face.png', 'bubble.webp', 'chart.gif'].entries()) {
      const data = await readFile(path.join(fixtures, file));
      const size = imageDimensions(data)!;
      const mime = file.endsWith('.png') ? 'image/png' : file.endsWith('.webp') ? 'image/webp' : file.endsWith('.gif') ? 'image/gif' : 'image/jpeg';
      const text = `نص ${i}\nسطر`;
      rows.push({ line: i + 1, id: `r${i}`, imgPath: file, label: 'propaganda', text, prompt: `Explain propaganda ${i}\nText extracted: ${text}`, image: { mime, data, ...size } });
    }
    const count = await loadTextCounter('o200k_base');
    for (const detail of ['low', 'high', undefined] as const) {
      const stage = toRequestLine({ model: 'gpt-4o-mini', ...(detail ? { detail } : {}) });
      async function* source() {
        yield* rows;
      }
      for await (const line of stage(source())) {
        const body = JSON.parse(segmentsToString(line.segments)).body;
        expect(line.tokens).toBe(requestBodyTokens(body, count));
        // gpt-4o-mini: every fixture image is one tile, 2833 + 5667 (high, auto) or 2833 (low).
        const prompt = body.messages[0].content[1].text;
        expect(line.tokens).toBe(count(prompt) + 7 + (detail === 'low' ? 2833 : 2833 + 5667));
      }
    }
  });

  it('leaves tokens out when told not to estimate', async () => {
    const stage = toRequestLine({ model: 'gpt-4o', estimateTokens: false });
    async function* source() {
      yield { line: 1, id: 'a', imgPath: 'x', label: 'l', prompt: 'p' };
    }
    for await (const line of stage(source())) expect(line.tokens).toBeUndefined();
  });
});
