import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * An error answer. On OpenAI routes the body is the spec's `ErrorResponse`, `{error: {message,
 * type, param, code}}`; on Azure routes `code` is Azure's (`azureCode`, else the status as a
 * string, as Azure's gateway answers: `{"error":{"code":"404","message":"Resource not found"}}`),
 * the other members kept so the body still validates against the spec. `body` replaces the whole
 * body where a service answers in another shape (Azure's `model_not_found` at create).
 */
export class HttpError extends Error {
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  readonly errorCode: string | null;
  readonly azureCode: string | null;
  readonly headers: Record<string, string>;
  readonly body: unknown;
  constructor(
    status: number,
    message: string,
    options: { type?: string; param?: string | null; code?: string | null; azureCode?: string; headers?: Record<string, string>; body?: unknown } = {},
  ) {
    super(message);
    this.azureCode = options.azureCode ?? null;
    this.body = options.body;
    this.status = status;
    this.type = options.type ?? (status === 401 ? 'authentication_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error');
    this.param = options.param ?? null;
    this.errorCode = options.code ?? null;
    this.headers = options.headers ?? {};
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: HttpError, flavor: 'openai' | 'azure' = 'openai'): void {
  if (err.body !== undefined) return sendJson(res, err.status, err.body, err.headers);
  const code = flavor === 'azure' ? (err.azureCode ?? err.errorCode ?? String(err.status)) : err.errorCode;
  sendJson(res, err.status, { error: { message: err.message, type: err.type, param: err.param, code } }, err.headers);
}

/** Reads a JSON body of at most `limit` bytes; a larger one is a 413, bad JSON a 400, another content-type a 415. */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new HttpError(415, `Unsupported content-type ${JSON.stringify(type)}: send the body as application/json.`);
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpError(413, `request body of ${declared} bytes is over the limit of ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `request body is over the limit of ${limit} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly.)');
  }
}

/** An object body, or a 400 naming what is wrong. */
export function asObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'The request body must be a JSON object.');
  return value as Record<string, unknown>;
}

/**
 * The object as the API shows it: fields that are null are left out. The spec types them as
 * plain strings and integers (`output_file_id`, `completed_at`...), and the official clients
 * read a missing field as null.
 */
export function withoutNulls<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined)) as T;
}
