import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { bodySkeleton, bodyTokens } from '../../src/core/direct/direct-request.js';
import type { TextCounter } from '../../src/core/requests/token-estimate.js';
import { offlineResponder, type Responder } from '../../src/server/responders.js';
import type { BatchServerOptions } from '../../src/server/server.js';
import { startTestServer } from './server.js';

/** One request as the tiny server saw it. */
export interface SeenRequest {
  /** Arrival, on the server's clock (performance.now(), ms). */
  at: number;
  text: string;
  body: { messages?: Array<{ content?: unknown }>; [k: string]: unknown };
  authorization: string | undefined;
}

export interface TinyAnswer {
  status?: number;
  headers?: Record<string, string>;
  /** JSON-encoded unless a string. Default a chat completion answering `{"explanation": "…"}`. */
  body?: unknown;
  /** Wait before answering. */
  delayMs?: number;
}

/** A tiny node:http server for `/chat/completions`: records every request and answers as told. */
export async function startTinyServer(answer: (req: SeenRequest, n: number) => TinyAnswer = () => ({})) {
  const seen: SeenRequest[] = [];
  const server = createServer(async (req: IncomingMessage, res) => {
    const at = performance.now();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: SeenRequest['body'] = {};
    try {
      body = JSON.parse(text) as SeenRequest['body'];
    } catch {}
    const request: SeenRequest = { at, text, body, authorization: req.headers.authorization };
    seen.push(request);
    const a = answer(request, seen.length);
    if (a.delayMs) await new Promise((r) => setTimeout(r, a.delayMs));
    if (res.destroyed) return;
    const payload = a.body === undefined ? completion(`answer ${seen.length}`) : a.body;
    const out = typeof payload === 'string' ? payload : JSON.stringify(payload);
    res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...a.headers });
    res.end(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return {
    url,
    seen,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A chat completion whose answer is `{"explanation": text}`. */
export function completion(text: string) {
  return {
    id: 'chatcmpl-tiny',
    object: 'chat.completion',
    created: 0,
    model: 'tiny',
    choices: [{ index: 0, message: { role: 'assistant', content: JSON.stringify({ explanation: text }) }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
}

/**
 * A server-side rate limit in fixed windows, as a gateway keeps it: at most `requests` requests
 * and `tokens` estimated tokens per `windowMs` window (a window starts with its first request).
 * A request costs what direct mode estimates for it (bodyTokens, text counted with `countText`;
 * 0 without it).
 * Each answer carries `x-ratelimit-*` headers; a request over the limit gets a 429 and is counted
 * in `over`, which a limiter that follows the headers keeps at 0.
 */
export function fixedWindow(limits: { requests?: number; tokens?: number; windowMs: number; countText?: TextCounter }) {
  const state = { start: -Infinity, requests: 0, tokens: 0, over: 0, windows: [] as Array<{ requests: number; tokens: number }> };
  const handler = (req: SeenRequest): TinyAnswer => {
    const now = req.at;
    if (now >= state.start + limits.windowMs) {
      state.start = now;
      state.requests = 0;
      state.tokens = 0;
      state.windows.push({ requests: 0, tokens: 0 });
    }
    const cost = limits.countText ? bodyTokens(bodySkeleton(Buffer.from(req.text)), limits.countText) : 0;
    const resetMs = Math.ceil(state.start + limits.windowMs - now);
    const headers: Record<string, string> = {};
    const fits = (limits.requests === undefined || state.requests + 1 <= limits.requests) && (limits.tokens === undefined || state.tokens + cost <= limits.tokens);
    if (fits) {
      state.requests++;
      state.tokens += cost;
      state.windows.at(-1)!.requests++;
      state.windows.at(-1)!.tokens += cost;
    } else state.over++;
    if (limits.requests !== undefined) {
      headers['x-ratelimit-limit-requests'] = String(limits.requests);
      headers['x-ratelimit-remaining-requests'] = String(limits.requests - state.requests);
      headers['x-ratelimit-reset-requests'] = `${resetMs}ms`;
    }
    if (limits.tokens !== undefined) {
      headers['x-ratelimit-limit-tokens'] = String(limits.tokens);
      headers['x-ratelimit-remaining-tokens'] = String(limits.tokens - state.tokens);
      headers['x-ratelimit-reset-tokens'] = `${resetMs}ms`;
    }
    if (!fits) return { status: 429, headers: { ...headers, 'retry-after-ms': String(resetMs) }, body: { error: { message: 'Rate limit reached', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' } } };
    return { headers };
  };
  return { state, handler };
}

/** A request for `sendDirect`: a one-message body with `max_tokens`; its tokens a stand-in (the cap and a token per character), which the stage only hands to the limiter. */
export function chatRequest(id: string, maxTokens = 16, text = `row ${id}`) {
  const body = Buffer.from(JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: [{ type: 'text', text }] }], max_tokens: maxTokens }));
  return { customId: id, body, tokens: maxTokens + text.length, line: 1 };
}

/** The user text of a request the server saw. */
export function userText(req: SeenRequest): string {
  const content = req.body.messages?.[0]?.content;
  if (typeof content === 'string') return content;
  return Array.isArray(content) ? content.map((p: { text?: string }) => p.text ?? '').join('') : '';
}

/**
 * The local server's offline responder, counting the requests it answers per row (the row named
 * by `row (<id>)` in the prompt's text), after `delayMs`; rows `fails` names get a 400.
 * `onAnswer` is told the running total.
 */
export function countingResponder(options: { delayMs?: number; fails?: (row: string) => boolean; onAnswer?: (total: number) => void } = {}) {
  const answered = new Map<string, number>();
  const base = offlineResponder();
  let total = 0;
  const responder: Responder = {
    name: 'counting',
    async respond(body, signal) {
      if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
      const row = /\brow (\w-\d+)/.exec(JSON.stringify(body.messages))?.[1] ?? '?';
      answered.set(row, (answered.get(row) ?? 0) + 1);
      options.onAnswer?.(++total);
      if (options.fails?.(row)) return { status: 400, body: { error: { message: `row ${row} is refused`, type: 'invalid_request_error', param: 'messages', code: 'invalid_value' } } };
      return base.respond(body, signal);
    },
  };
  return { answered, responder };
}

/** Runs `fn` with the base URL of a local server started with `options`, and closes it. */
export async function withLocalServer<T>(options: Partial<BatchServerOptions>, fn: (baseUrl: string) => Promise<T>): Promise<T> {
  const { server } = await startTestServer(options);
  try {
    return await fn(`${server.url}/v1`);
  } finally {
    await server.close();
  }
}
