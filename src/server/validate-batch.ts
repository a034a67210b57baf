import { fileLines } from '../core/io/file-lines.js';
import { estimateTokens } from './responders.js';
import { modelKnown, unknownModelMessage } from './rules.js';

export interface BatchErrorItem {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

export type Validation =
  | { ok: true; requests: number; model: string; tokens: number }
  | { ok: false; errors: BatchErrorItem[] };

/** Most validation errors reported for one file (OpenAI lists several, not all). */
const MAX_ERRORS = 50;

/** `/chat/completions` and `/v1/chat/completions` name the same endpoint (Azure's lines use either). */
export function sameEndpoint(a: string, b: string): boolean {
  const norm = (u: string) => u.replace(/^\/?(v1\/)?/, '/');
  return norm(a) === norm(b);
}

/**
 * Checks a batch input file as the Batch API does, streaming it once: each line JSON with a
 * string `custom_id` unique in the file, `method` POST, `url` equal to the batch's endpoint, an
 * object `body` whose `model` is the same on every line; not empty; at most `maxRequests` lines.
 */
export async function validateBatchFile(
  file: string,
  options: {
    endpoint: string;
    maxRequests: number;
    countTokens?: (body: Record<string, unknown>) => number | Promise<number>;
    /** OpenAI: each line's `url` is the batch's endpoint exactly (Azure takes `/chat/completions` and `/v1/chat/completions` alike). */
    exactUrl?: boolean;
    /** Models known (OpenAI routes): another fails the batch with `model_not_found`. Default null: any. */
    models?: ReadonlySet<string> | null;
  },
): Promise<Validation> {
  const errors: BatchErrorItem[] = [];
  const ids = new Set<string>();
  let model: string | undefined;
  let requests = 0;
  let tokens = 0;
  const fail = (code: string, message: string, line: number | null, param: string | null = null) => {
    if (errors.length < MAX_ERRORS) errors.push({ code, message, param, line });
  };
  for await (const { line, text } of fileLines(file)) {
    if (text.trim() === '') continue;
    requests++;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      fail('invalid_json_line', 'This line is not parseable as valid JSON.', line);
      continue;
    }
    const req = value as { custom_id?: unknown; method?: unknown; url?: unknown; body?: unknown };
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      fail('invalid_request', 'Each line must be a JSON object.', line);
      continue;
    }
    if (typeof req.custom_id !== 'string' || req.custom_id === '') {
      fail('invalid_request', "Missing required parameter: 'custom_id'.", line, 'custom_id');
      continue;
    }
    if (ids.has(req.custom_id)) fail('duplicate_custom_id', `The custom_id for this request is a duplicate of another request: ${req.custom_id}`, line, 'custom_id');
    ids.add(req.custom_id);
    if (req.method !== 'POST') fail('invalid_request', "Invalid 'method': only POST is supported.", line, 'method');
    if (typeof req.url !== 'string' || !(options.exactUrl ? req.url === options.endpoint : sameEndpoint(req.url, options.endpoint))) {
      fail('url_mismatch', `The provided URL '${String(req.url)}' does not match the batch endpoint '${options.endpoint}'.`, line, 'url');
    }
    const body = req.body as Record<string, unknown> | undefined;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      fail('invalid_request', "Missing required parameter: 'body'.", line, 'body');
      continue;
    }
    if (typeof body.model !== 'string') {
      fail('invalid_request', "Missing required parameter: 'body.model'.", line, 'body.model');
      continue;
    }
    if (model === undefined) {
      model = body.model;
      if (!modelKnown(options.models ?? null, model)) fail('model_not_found', unknownModelMessage(model), line, 'body.model');
    }
    else if (body.model !== model) fail('model_mismatch', `The model '${body.model}' differs from the model '${model}' of earlier lines; a batch uses one model.`, line, 'body.model');
    tokens += options.countTokens ? await options.countTokens(body) : estimateTokens(body);
  }
  if (requests === 0) fail('empty_file', 'The input file is empty. Please ensure that the batch contains at least one request.', null);
  if (requests > options.maxRequests) {
    fail('too_many_tasks', `The batch input file has ${requests} requests; the maximum is ${options.maxRequests}.`, null);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, requests, model: model!, tokens };
}
