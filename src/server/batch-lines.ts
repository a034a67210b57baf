import { chatBodyProblem } from './chat-body.js';
import type { Faults } from './faults.js';
import { newRequestId } from './ids.js';
import type { OutputKind } from './batch-output.js';
import type { Responder } from './responders.js';
import { maxOutputTokens, type Flavor } from './rules.js';

/** One line of a batch answered: the output or error line it writes (null: left out by an injected fault). */
export interface AnsweredLine {
  ok: boolean;
  kind: OutputKind;
  text: string | null;
  /** The answer's token counts, for the batch's `usage`. */
  usage?: { prompt_tokens: number; completion_tokens: number };
}

/**
 * Answers one request line of a batch with the responder (or an injected 500, or the 400 of a
 * body the API refuses), as the line of the output or error file the Batch API writes for it.
 */
export async function answerLine(customId: string, body: Record<string, unknown>, o: { faults: Faults; responder: Responder; chat: boolean; flavor: Flavor }): Promise<AnsweredLine> {
  const { faults, responder } = o;
  const requestId = newRequestId();
  const lineId = `batch_req_${requestId.slice(4)}`;
  if (faults.options.lineDelayMs > 0) await new Promise((r) => setTimeout(r, faults.options.lineDelayMs));
  // A body the API would refuse is a 400 line, with the API's message (the other lines go on).
  // The model's output cap is known by model name: OpenAI's routes (Azure's deployments are named freely).
  const cap = o.flavor === 'openai' && typeof body.model === 'string' ? maxOutputTokens(body.model) : undefined;
  const problem = o.chat ? chatBodyProblem(body, { batch: true, maxOutputTokens: cap }) : null;
  const result = problem
    ? { status: 400, body: { error: { message: problem.message, type: 'invalid_request_error', param: problem.param, code: problem.code } } }
    : faults.lineFails()
    ? { status: 500, body: { error: { message: 'The server had an error processing your request (injected fault).', type: 'server_error', param: null, code: null } } }
    : await responder.respond(body);
  const line = JSON.stringify({ id: lineId, custom_id: customId, response: { status_code: result.status, request_id: requestId, body: result.body }, error: null });
  const ok = result.status === 200;
  // Injected: an output line damaged, or counted as completed but never written.
  const fate = ok ? faults.outputLine() : 'write';
  const usage = ok ? (result.body as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } })?.usage : undefined;
  return {
    ok,
    kind: ok ? 'out' : 'err',
    text: fate === 'drop' ? null : fate === 'malformed' ? line.slice(0, Math.floor(line.length / 2)) : line,
    ...(usage ? { usage: { prompt_tokens: Number(usage.prompt_tokens) || 0, completion_tokens: Number(usage.completion_tokens) || 0 } } : {}),
  };
}

/** The error line of a request not started before the completion window closed, as the API reports it. */
export function expiredLine(customId: string): string {
  return JSON.stringify({
    id: `batch_req_${newRequestId().slice(4)}`,
    custom_id: customId,
    response: null,
    error: { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' },
  });
}
