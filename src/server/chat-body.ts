/**
 * Checks a chat completions request body the way the API does before answering it, with the
 * API's wording ("Invalid type for 'messages': expected an array of objects, but got a string
 * instead."). A batch line that fails is a 400 line of the error file; a direct call a 400.
 * Covers what a batch of explanation requests can get wrong; the full schema is the spec's
 * `CreateChatCompletionRequest` (test/server/conformance.test.ts checks both agree on samples).
 */
export interface BodyProblem {
  message: string;
  param: string | null;
  code: string | null;
}

/** Top-level parameters of `CreateChatCompletionRequest` (spec of 2026-08-21); any other is refused. */
const PARAMETERS = new Set(
  ('metadata top_logprobs temperature top_p user safety_identifier prompt_cache_key prompt_cache_retention prompt_cache_options messages model ' +
    'service_tier modalities verbosity reasoning_effort max_completion_tokens frequency_penalty presence_penalty web_search_options response_format ' +
    'audio store moderation stream stop logit_bias logprobs max_tokens n prediction seed stream_options tools tool_choice parallel_tool_calls function_call functions').split(' '),
);
const ROLES = ['developer', 'system', 'user', 'assistant', 'tool', 'function'];
const USER_PARTS = new Set(['text', 'image_url', 'input_audio', 'file']);

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a decimal';
  return typeof v === 'boolean' ? 'a boolean' : 'a string';
}

const invalidType = (param: string, expected: string, v: unknown): BodyProblem => ({
  message: `Invalid type for '${param}': expected ${expected}, but got ${typeName(v)} instead.`,
  param,
  code: 'invalid_type',
});

function numberIn(body: Record<string, unknown>, name: string, min: number, max: number, integer: boolean): BodyProblem | null {
  const v = body[name];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || (integer && !Number.isInteger(v))) return invalidType(name, integer ? 'an integer' : 'a decimal', v);
  const kind = integer ? 'integer' : 'decimal';
  if (v < min) return { message: `Invalid '${name}': ${kind} below minimum value. Expected a value >= ${min}, but got ${v} instead.`, param: name, code: `${kind}_below_min_value` };
  if (v > max) return { message: `Invalid '${name}': ${kind} above maximum value. Expected a value <= ${max}, but got ${v} instead.`, param: name, code: `${kind}_above_max_value` };
  return null;
}

function checkContent(content: unknown, role: string, at: string): BodyProblem | null {
  if (typeof content === 'string') return null;
  if (content === null || content === undefined) return role === 'assistant' ? null : { message: `Missing required parameter: '${at}'.`, param: at, code: 'missing_required_parameter' };
  if (!Array.isArray(content)) return invalidType(at, 'one of a string or array of objects', content);
  for (const [j, part] of content.entries()) {
    const p = `${at}[${j}]`;
    if (typeof part !== 'object' || part === null || Array.isArray(part)) return invalidType(p, 'an object', part);
    const type = (part as { type?: unknown }).type;
    const allowed = role === 'user' ? USER_PARTS : new Set(role === 'assistant' ? ['text', 'refusal'] : ['text']);
    if (typeof type !== 'string' || !allowed.has(type)) {
      return { message: `Invalid value: ${JSON.stringify(type ?? null)}. Supported values are: ${[...allowed].map((t) => `'${t}'`).join(', ')}.`, param: `${p}.type`, code: 'invalid_value' };
    }
    if (type === 'text' && typeof (part as { text?: unknown }).text !== 'string') return invalidType(`${p}.text`, 'a string', (part as { text?: unknown }).text);
    if (type === 'image_url') {
      const image = (part as { image_url?: { url?: unknown; detail?: unknown } }).image_url;
      if (typeof image !== 'object' || image === null || typeof image.url !== 'string') return invalidType(`${p}.image_url.url`, 'a string', image?.url);
      if (image.detail !== undefined && !['auto', 'low', 'high'].includes(image.detail as string)) {
        return { message: `Invalid value: ${JSON.stringify(image.detail)}. Supported values are: 'auto', 'low', and 'high'.`, param: `${p}.image_url.detail`, code: 'invalid_value' };
      }
    }
  }
  return null;
}

/** The first problem of a chat completions body, or null when it is one the API answers. */
export function chatBodyProblem(body: Record<string, unknown>, options: { batch: boolean; maxOutputTokens?: number | undefined }): BodyProblem | null {
  for (const key of Object.keys(body)) if (!PARAMETERS.has(key)) return { message: `Unrecognized request argument supplied: ${key}`, param: null, code: null };
  if (typeof body.model !== 'string') return body.model === undefined ? { message: "Missing required parameter: 'model'.", param: 'model', code: 'missing_required_parameter' } : invalidType('model', 'a string', body.model);
  const messages = body.messages;
  if (messages === undefined) return { message: "Missing required parameter: 'messages'.", param: 'messages', code: 'missing_required_parameter' };
  if (!Array.isArray(messages)) return invalidType('messages', 'an array of objects', messages);
  if (messages.length === 0) return { message: "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", param: 'messages', code: 'empty_array' };
  for (const [i, m] of messages.entries()) {
    const at = `messages[${i}]`;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return invalidType(at, 'an object', m);
    const role = (m as { role?: unknown }).role;
    if (role === undefined) return { message: `Missing required parameter: '${at}.role'.`, param: `${at}.role`, code: 'missing_required_parameter' };
    if (typeof role !== 'string' || !ROLES.includes(role)) {
      return { message: `Invalid value: ${JSON.stringify(role)}. Supported values are: ${ROLES.map((r) => `'${r}'`).join(', ')}.`, param: `${at}.role`, code: 'invalid_value' };
    }
    const problem = checkContent((m as { content?: unknown }).content, role, `${at}.content`);
    if (problem) return problem;
  }
  if (body.stream === true && options.batch) return { message: 'Streaming is not supported in the Batch API: remove "stream" or set it to false.', param: 'stream', code: 'invalid_value' };
  const cap = options.maxOutputTokens;
  for (const name of ['max_tokens', 'max_completion_tokens']) {
    const asked = body[name];
    if (cap !== undefined && typeof asked === 'number' && asked > cap) {
      return { message: `${name} is too large: ${asked}. This model supports at most ${cap} completion tokens, whereas you provided ${asked}.`, param: name, code: 'invalid_value' };
    }
  }
  return (
    numberIn(body, 'temperature', 0, 2, false) ??
    numberIn(body, 'top_p', 0, 1, false) ??
    numberIn(body, 'max_tokens', 1, Number.MAX_SAFE_INTEGER, true) ??
    numberIn(body, 'max_completion_tokens', 1, Number.MAX_SAFE_INTEGER, true) ??
    numberIn(body, 'n', 1, 128, true)
  );
}
