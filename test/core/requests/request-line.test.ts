import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { requestLineBuilder } from '../../../src/core/requests/request-line.js';
import { segmentsToString } from '../../../src/core/shards/line-writer.js';
import type { DataUri } from '../../../src/types.js';
import { schemaErrors } from '../../helpers/openapi.js';

const image: DataUri = { mime: 'image/png', data: Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5, 250]) };

describe('requestLineBuilder', () => {
  it('builds the line of DESIGN.md, reproducing the original scripts by default', () => {
    const build = requestLineBuilder({ model: 'gpt-4o', provider: 'azure' });
    const line = build({ line: 3, id: 'm-1', prompt: 'why {x}', image });
    const text = segmentsToString(line.segments);
    expect(JSON.parse(text)).toEqual({
      custom_id: 'm-1',
      method: 'POST',
      url: '/chat/completions',
      body: {
        model: 'gpt-4o',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url: `data:image/png;base64,${image.data.toString('base64')}` } },
              { type: 'text', text: 'why {x}' },
            ],
          },
        ],
        max_tokens: 4096,
        temperature: 0,
      },
    });
    expect(line).toMatchObject({ line: 3, customId: 'm-1' });
  });

  it('counts the exact UTF-8 bytes of the line plus its newline', () => {
    const builders = [
      requestLineBuilder({ model: 'm' }),
      requestLineBuilder({ model: 'نموذج', provider: 'openai', detail: 'low', responseFormat: 'json_schema', tokenParam: 'max_completion_tokens', temperature: null }),
      requestLineBuilder({ model: 'm', responseFormat: 'json_object', url: '/v1/chat/completions' }),
    ];
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.uint8Array({ maxLength: 300 }), fc.constantFrom(0, 1, 2), fc.constantFrom(0, 1, 2), (id, prompt, bytes, which, kind) => {
        const img = kind === 0 ? undefined : kind === 1 ? { mime: 'image/jpeg' as const, data: Buffer.from(bytes) } : `https://example.com/${id}.jpg`;
        const line = builders[which]!({ line: 1, id, prompt, ...(img === undefined ? {} : { image: img }) });
        const text = segmentsToString(line.segments);
        expect(line.byteLength).toBe(Buffer.byteLength(text) + 1);
        expect(JSON.parse(text).custom_id).toBe(id);
      }),
    );
  });

  it('sets the url by provider and the token field, detail and response format by option', () => {
    const body = (opts: Parameters<typeof requestLineBuilder>[0]) =>
      JSON.parse(segmentsToString(requestLineBuilder(opts)({ line: 1, id: 'a', prompt: 'p', image }).segments));
    expect(body({ model: 'm', provider: 'openai' }).url).toBe('/v1/chat/completions');
    expect(body({ model: 'm', provider: 'local' }).url).toBe('/v1/chat/completions');
    const b = body({ model: 'm', tokenParam: 'max_completion_tokens', maxTokens: 300, detail: 'high', temperature: null, responseFormat: 'json_schema', explanationField: 'why' }).body;
    expect(b.max_completion_tokens).toBe(300);
    expect(b.max_tokens).toBeUndefined();
    expect(b.temperature).toBeUndefined();
    expect(b.messages[0].content[0].image_url.detail).toBe('high');
    expect(b.response_format).toEqual({
      type: 'json_schema',
      json_schema: {
        name: 'explanation',
        strict: true,
        schema: { type: 'object', properties: { why: { type: 'string' } }, required: ['why'], additionalProperties: false },
      },
    });
    expect(body({ model: 'm', responseFormat: 'json_object' }).body.response_format).toEqual({ type: 'json_object' });
  });

  it('builds text-only requests and image URL requests', () => {
    const build = requestLineBuilder({ model: 'm' });
    const textOnly = JSON.parse(segmentsToString(build({ line: 1, id: 't', prompt: 'p' }).segments));
    expect(textOnly.body.messages[0].content).toEqual([{ type: 'text', text: 'p' }]);
    const byUrl = JSON.parse(segmentsToString(build({ line: 1, id: 'u', prompt: 'p', image: 'https://x/y.png' }).segments));
    expect(byUrl.body.messages[0].content[0]).toEqual({ type: 'image_url', image_url: { url: 'https://x/y.png' } });
  });

  it('validates against the OpenAPI spec: BatchRequestInput and CreateChatCompletionRequest', () => {
    for (const opts of [
      { model: 'gpt-4o' },
      { model: 'gpt-4o', provider: 'azure' as const, detail: 'low' as const, responseFormat: 'json_schema' as const },
      { model: 'gpt-4.1', responseFormat: 'json_object' as const, tokenParam: 'max_completion_tokens' as const, temperature: null },
    ]) {
      const line = JSON.parse(segmentsToString(requestLineBuilder(opts)({ line: 1, id: 'مثال-1', prompt: 'نص 😀', image }).segments));
      expect(schemaErrors('lines', 'BatchRequestInput', line)).toEqual([]);
      expect(schemaErrors('current', 'CreateChatCompletionRequest', line.body)).toEqual([]);
    }
  });

  it('a bad request body would fail the schema check (the check can fail)', () => {
    expect(schemaErrors('current', 'CreateChatCompletionRequest', { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url' }] }] })).not.toEqual([]);
    expect(schemaErrors('lines', 'BatchRequestInput', { custom_id: 1, method: 'GET' })).not.toEqual([]);
  });

  it('checks options at construction with coded errors quoting the value', () => {
    expect(() => requestLineBuilder({ model: '' })).toThrow(/option model: expected a non-empty string, got ""/);
    expect(() => requestLineBuilder({ model: 'm', provider: 'bedrock' as never })).toThrow(/provider: expected one of azure, openai, local, got "bedrock"/);
    expect(() => requestLineBuilder({ model: 'm', maxTokens: 0 })).toThrow(/maxTokens/);
    expect(() => requestLineBuilder({ model: 'm', temperature: 3 })).toThrow(/temperature/);
    expect(() => requestLineBuilder({ model: 'm', responseFormat: 'yaml' as never })).toThrow(/responseFormat/);
    try {
      requestLineBuilder({ model: 'm', detail: 'ultra' as never });
    } catch (err) {
      expect((err as { code: string }).code).toBe('E_OPTION');
    }
  });
});
