// One line of a batch output or error file read as a result record (out of stages/reverse/read-results.ts: the merge's parse threads need it too).
import { parseExplanation, type ExplanationFailure } from './parse-explanation.js';

/** Why a result holds no explanation. */
export type ResultFailure = ExplanationFailure | 'api_error' | 'batch_expired' | 'request_error';

export interface ResultRecord {
  /** The request's `custom_id`: the dataset row's id. */
  id: string;
  explanation: string | null;
  error: { reason: ResultFailure; message: string; code?: string; status?: number } | null;
  finish_reason: string | null;
  usage: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null;
  /** Newer results have larger orders: the source's order, then the line. */
  order: number;
  /** `file:line`, for messages. */
  source: string;
}

export interface ResultSource {
  path: string;
  /** Later files hold newer results (a resubmission's batch comes after the first one). */
  order: number;
}

/** Lines per source file that `order` can tell apart. */
export const LINES_PER_SOURCE = 1e9;

/**
 * Pure: one line of a batch output or error file → a result record, or why it is not one. Reads
 * the Batch API's shape (`response.status_code`, `response.body`, `error {code, message}`), our
 * local server's, and vLLM `run_batch`'s (one file for both, `error` a string or an object). A
 * line counts as a success only with status 200 and no error; its answer then goes through
 * {@link parseExplanation}.
 */
export function resultFromLine(text: string, where: { source: string; order: number }, field = 'explanation'): ResultRecord | { bad: string } {
  let line: { custom_id?: unknown; response?: { status_code?: number; body?: unknown } | null; error?: unknown };
  try {
    line = JSON.parse(text);
  } catch (err) {
    return { bad: `not JSON (${(err as Error).message})` };
  }
  if (typeof line !== 'object' || line === null || typeof line.custom_id !== 'string') return { bad: 'no custom_id' };
  const id = line.custom_id;
  const status = line.response?.status_code;
  const body = (line.response?.body ?? null) as { choices?: Array<{ message?: { content?: string | null }; finish_reason?: string | null }>; usage?: ResultRecord['usage']; error?: unknown } | null;
  const usage = body?.usage ?? null;
  // Records are written out field by field: a spread (`...base`) made each call twice as slow.
  const failed = (reason: ResultFailure, message: string, extra: { code?: string; status?: number } = {}, finish: string | null = null): ResultRecord => ({
    id,
    explanation: null,
    error: { reason, message, ...extra },
    finish_reason: finish,
    usage,
    order: where.order,
    source: where.source,
  });
  if (line.error !== null && line.error !== undefined) {
    const e = line.error as { code?: string; message?: string; error?: { code?: string; message?: string } } | string;
    const code = typeof e === 'string' ? undefined : (e.code ?? e.error?.code ?? undefined);
    const message = typeof e === 'string' ? e : (e.message ?? e.error?.message ?? JSON.stringify(e));
    if (code === 'batch_expired') return failed('batch_expired', message, { code });
    if (code === 'content_filter') return failed('content_filter', message, { code });
    return failed(status && status !== 200 ? 'api_error' : 'request_error', message, { ...(code ? { code } : {}), ...(status ? { status } : {}) });
  }
  if (status !== 200) {
    const err = (body?.error ?? null) as { code?: string | null; message?: string; innererror?: { code?: string } } | null;
    const code = err?.code ?? undefined;
    const message = err?.message ?? `HTTP ${status ?? 'status missing'}`;
    if (code === 'content_filter' || err?.innererror?.code === 'ResponsibleAIPolicyViolation') return failed('content_filter', message, { code: code ?? 'content_filter', ...(status ? { status } : {}) });
    return failed('api_error', message, { ...(code ? { code } : {}), ...(status ? { status } : {}) });
  }
  const choice = body?.choices?.[0];
  const finish = choice?.finish_reason ?? null;
  const parsed = parseExplanation(choice?.message?.content, finish, { field });
  if (!parsed.ok) return failed(parsed.reason, parsed.detail, {}, finish);
  return { id, explanation: parsed.explanation, error: null, finish_reason: finish, usage, order: where.order, source: where.source };
}

