import { dataUriByteLength, isDataUri } from '../shards/line-writer.js';
import { nonEmptyString, oneOf, positiveInteger } from '../flow/options.js';
import { optionError } from '../../errors.js';
import type { DataUri, RequestLine } from '../../types.js';

/** The Batch API line of DESIGN.md, built by hand around the image so the image is never stringified. */

export type Provider = 'azure' | 'openai' | 'local';
export type ResponseFormat = 'none' | 'json_object' | 'json_schema';
export type ImageDetail = 'auto' | 'low' | 'high';

/** Request URL per provider: Azure's classic batch line URL, and OpenAI's (also taken by the local server and vLLM). */
export const URL_BY_PROVIDER: Record<Provider, string> = {
  azure: '/chat/completions',
  openai: '/v1/chat/completions',
  local: '/v1/chat/completions',
};

/** The answer cap of a request when none is given, as the original scripts. */
export const DEFAULT_MAX_TOKENS = 4096;

export interface RequestLineOptions {
  /** Model name (OpenAI) or deployment name (Azure): the same on every line of a batch. */
  model: string;
  /** Picks the default `url`. Default `local`. */
  provider?: Provider;
  /** Overrides the line's `url`. */
  url?: string;
  /** Default {@link DEFAULT_MAX_TOKENS} (4096), as the original scripts. */
  maxTokens?: number;
  /** `max_tokens` (default, as the original scripts) or `max_completion_tokens` (newer models require it). */
  tokenParam?: 'max_tokens' | 'max_completion_tokens';
  /** Default 0, as the original scripts; `null` leaves it out (some reasoning models refuse it). */
  temperature?: number | null;
  /** Image `detail`; left out by default (the API then uses `auto`). */
  detail?: ImageDetail;
  /** Default `none`. `json_schema` asks for a strict `{<explanationField>: string}` object. */
  responseFormat?: ResponseFormat;
  /** Field of the JSON answer; used by `json_schema`. Default `explanation`. */
  explanationField?: string;
}

export interface RequestInput {
  line: number;
  id: string;
  prompt: string;
  /** A data URI, a URL, or nothing for a text-only request. */
  image?: DataUri | string;
}

export type RequestLineBuilder = (input: RequestInput) => RequestLine;

/** Checks the options once and returns the function that builds a line. */
export function requestLineBuilder(options: RequestLineOptions): RequestLineBuilder {
  const model = nonEmptyString('model', options.model);
  const provider = oneOf('provider', options.provider ?? 'local', ['azure', 'openai', 'local'] as const);
  const url = options.url === undefined ? URL_BY_PROVIDER[provider] : nonEmptyString('url', options.url);
  const maxTokens = positiveInteger('maxTokens', options.maxTokens ?? DEFAULT_MAX_TOKENS);
  const tokenParam = oneOf('tokenParam', options.tokenParam ?? 'max_tokens', ['max_tokens', 'max_completion_tokens'] as const);
  const temperature = options.temperature === undefined ? 0 : options.temperature;
  if (temperature !== null && (typeof temperature !== 'number' || !(temperature >= 0 && temperature <= 2))) {
    throw optionError('temperature', temperature, 'a number from 0 to 2, or null');
  }
  const detail = options.detail === undefined ? undefined : oneOf('detail', options.detail, ['auto', 'low', 'high'] as const);
  const responseFormat = oneOf('responseFormat', options.responseFormat ?? 'none', ['none', 'json_object', 'json_schema'] as const);
  const field = nonEmptyString('explanationField', options.explanationField ?? 'explanation');

  const bodyRest: Record<string, unknown> = { [tokenParam]: maxTokens };
  if (temperature !== null) bodyRest.temperature = temperature;
  if (responseFormat === 'json_object') bodyRest.response_format = { type: 'json_object' };
  if (responseFormat === 'json_schema') {
    bodyRest.response_format = {
      type: 'json_schema',
      json_schema: {
        name: 'explanation',
        strict: true,
        schema: {
          type: 'object',
          properties: { [field]: { type: 'string' } },
          required: [field],
          additionalProperties: false,
        },
      },
    };
  }
  // Everything that does not change per row is serialised once, here.
  const lineStart = '{"custom_id":';
  const toBody = `,"method":"POST","url":${JSON.stringify(url)},"body":`;
  const afterId = `${toBody}{"model":${JSON.stringify(model)},"messages":[{"role":"user","content":[`;
  const headBytes = Buffer.byteLength(lineStart + toBody);
  const imageOpen = '{"type":"image_url","image_url":{"url":';
  const imageClose = `${detail ? `,"detail":${JSON.stringify(detail)}` : ''}}},`;
  const textOpen = '{"type":"text","text":';
  const lineEnd = `}]}],${JSON.stringify(bodyRest).slice(1, -1)}}}`;
  const fixedBytes = Buffer.byteLength(lineStart + afterId + textOpen + lineEnd) + 1; // + newline

  return ({ line, id, prompt, image }) => {
    const idJson = JSON.stringify(id);
    const promptJson = JSON.stringify(prompt);
    const idBytes = Buffer.byteLength(idJson);
    let segments: Array<string | DataUri>;
    let byteLength = fixedBytes + idBytes + Buffer.byteLength(promptJson);
    if (image === undefined) {
      segments = [lineStart + idJson + afterId + textOpen + promptJson + lineEnd];
    } else if (isDataUri(image)) {
      // A data URI is base64 text: it needs no JSON escaping, only the quotes around it.
      segments = [`${lineStart}${idJson}${afterId}${imageOpen}"`, image, `"${imageClose}${textOpen}${promptJson}${lineEnd}`];
      byteLength += imageOpen.length + 2 + dataUriByteLength(image) + imageClose.length;
    } else {
      const urlJson = JSON.stringify(image);
      segments = [lineStart + idJson + afterId + imageOpen + urlJson + imageClose + textOpen + promptJson + lineEnd];
      byteLength += imageOpen.length + Buffer.byteLength(urlJson) + imageClose.length;
    }
    return { line, customId: id, segments, byteLength, bodyStart: headBytes + idBytes };
  };
}
