import { createHash } from 'node:crypto';
import { newRequestId, nowSeconds } from './ids.js';

/** Answers one chat completions request body: an HTTP status and a JSON body. */
export interface Responder {
  readonly name: string;
  respond(body: Record<string, unknown>, signal?: AbortSignal): Promise<{ status: number; body: unknown }>;
}

/** Marks every offline answer, so no one takes it for a model's. */
export const OFFLINE_MARK = '[batch-explain offline responder: not a model answer]';
export const OFFLINE_MARK_AR = '[إجابة تجريبية من الخادم المحلي، لا من نموذج]';

/**
 * The default responder: deterministic, no model. It answers with valid JSON `{"explanation":
 * "..."}` (or the field a `json_schema` names) built from the label and the text found in the
 * prompt, in Arabic when the prompt asks for Arabic, and plainly marked as not a model's answer.
 */
export function offlineResponder(): Responder {
  return {
    name: 'offline',
    async respond(body) {
      const prompt = userText(body);
      const label = /labell?ed[^\n:]*?\bas\s*:?\s*"?([^\n"]+?)"?\s*(?:\n|$)/i.exec(prompt)?.[1]?.trim() ?? 'the given label';
      const extracted = prompt.lastIndexOf('Text extracted:') === -1 ? '' : prompt.slice(prompt.lastIndexOf('Text extracted:') + 15).trim();
      const digest = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 12);
      const arabic = /Modern Standard Arabic|الفصحى/.test(prompt);
      const quoted = extracted.replace(/\s+/g, ' ').slice(0, 80) || (arabic ? 'بلا نص' : 'no text');
      const explanation = arabic
        ? `${OFFLINE_MARK_AR} صُنّف هذا الميم على أنه «${label}». يجمع الميم بين صورة ونص يقول: «${quoted}». ` +
          'هذا الشرح نص ثابت يولّده الخادم المحلي لاختبار سير العمل، ولا يصف الصورة فعلاً ولا يحلل أسلوبها، ' +
          'ولذلك لا ينبغي استعماله في التدريب أو التقييم. استبدل به إجابة نموذج حقيقي عبر خادم متوافق مع واجهة OpenAI ' +
          `أو عبر مزود الخدمة. المعرّف: ${digest}.`
        : `${OFFLINE_MARK} This meme carries the human label "${label}". It pairs an image with the text "${quoted}". ` +
          'This explanation is fixed text produced by the local server to exercise the batch workflow: it does not ' +
          'describe the image or analyse its rhetoric, and it must not be used for training or evaluation. Point the ' +
          `tool at a real model through an OpenAI-compatible server or a provider to get real explanations. Reference: ${digest}.`;
      const field = schemaField(body) ?? 'explanation';
      const content = JSON.stringify({ [field]: explanation });
      return { status: 200, body: chatCompletion(String(body.model ?? 'offline'), content, estimateTokens(body), Math.ceil(content.length / 4)) };
    },
  };
}

/**
 * Forwards each request to an OpenAI-compatible chat completions server (vLLM, Ollama,
 * llama.cpp, LM Studio), at most `concurrency` at once. `url` is the server's base, e.g.
 * `http://127.0.0.1:8000/v1`; `model` replaces the request's model when given.
 */
export function upstreamResponder(options: { url: string; apiKey?: string; concurrency?: number; model?: string; timeoutMs?: number }): Responder {
  const endpoint = `${options.url.replace(/\/+$/, '')}/chat/completions`;
  // Loaded when first used: undici costs ~19 MB of RSS, which the offline responder does not need.
  let undici: Promise<typeof import('undici')> | null = null;
  const limit = Math.max(1, options.concurrency ?? 4);
  let active = 0;
  const waiting: Array<() => void> = [];
  const acquire = async () => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
  };
  const release = () => {
    active--;
    waiting.shift()?.();
  };
  return {
    name: `upstream ${options.url}`,
    async respond(body, signal) {
      await acquire();
      try {
        const { request } = await (undici ??= import('undici'));
        const res = await request(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) },
          body: JSON.stringify(options.model ? { ...body, model: options.model } : body),
          headersTimeout: options.timeoutMs ?? 600_000,
          bodyTimeout: options.timeoutMs ?? 600_000,
          ...(signal ? { signal } : {}),
        });
        const text = await res.body.text();
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = { error: { message: `upstream answered ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`, type: 'upstream_error', param: null, code: null } };
        }
        return { status: res.statusCode, body: parsed };
      } catch (err) {
        if (signal?.aborted) throw err;
        return { status: 502, body: { error: { message: `upstream ${endpoint} unreachable: ${(err as Error).message}`, type: 'upstream_error', param: null, code: null } } };
      } finally {
        release();
      }
    },
  };
}

export function chatCompletion(model: string, content: string, promptTokens: number, completionTokens: number) {
  return {
    id: `chatcmpl-${newRequestId().slice(4)}`,
    object: 'chat.completion',
    created: nowSeconds(),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    system_fingerprint: 'fp_batch_explain_local',
  };
}

/** The user's text parts, joined. */
function userText(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const parts: string[] = [];
  for (const m of messages as Array<{ role?: string; content?: unknown }>) {
    if (typeof m?.content === 'string') parts.push(m.content);
    else if (Array.isArray(m?.content)) for (const p of m.content as Array<{ type?: string; text?: string }>) if (p?.type === 'text' && typeof p.text === 'string') parts.push(p.text);
  }
  return parts.join('\n');
}

function schemaField(body: Record<string, unknown>): string | undefined {
  const rf = body.response_format as { type?: string; json_schema?: { schema?: { required?: string[] } } } | undefined;
  return rf?.type === 'json_schema' ? rf.json_schema?.schema?.required?.[0] : undefined;
}

/**
 * Prompt tokens, roughly: a token per 4 characters of text, and per image the tile formula of
 * gpt-4o at `high` detail for a 1024×1024 image (765) or 85 at `low`. Enough for quotas in tests.
 */
export function estimateTokens(body: Record<string, unknown>): number {
  let tokens = 0;
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (const m of messages as Array<{ content?: unknown }>) {
    if (typeof m?.content === 'string') tokens += Math.ceil(m.content.length / 4);
    else if (Array.isArray(m?.content))
      for (const p of m.content as Array<{ type?: string; text?: string; image_url?: { detail?: string } }>) {
        if (p?.type === 'text') tokens += Math.ceil((p.text ?? '').length / 4);
        else if (p?.type === 'image_url') tokens += p.image_url?.detail === 'low' ? 85 : 765;
      }
  }
  return tokens + 3;
}
