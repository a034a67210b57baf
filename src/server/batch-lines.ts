import type { Faults } from './faults.js';
import { newRequestId } from './ids.js';
import type { OutputKind } from './batch-output.js';
import type { Responder } from './responders.js';

/** One line of a batch answered: the output or error line it writes (null: left out by an injected fault). */
export interface AnsweredLine {
  ok: boolean;
  kind: OutputKind;
  text: string | null;
}

/**
 * Answers one request line of a batch with the responder (or an injected 500), as the line of
 * the output or error file the Batch API writes for it.
 */
export async function answerLine(customId: string, body: Record<string, unknown>, o: { faults: Faults; responder: Responder }): Promise<AnsweredLine> {
  const { faults, responder } = o;
  const requestId = newRequestId();
  const lineId = `batch_req_${requestId.slice(4)}`;
  if (faults.options.lineDelayMs > 0) await new Promise((r) => setTimeout(r, faults.options.lineDelayMs));
  const result = faults.lineFails()
    ? { status: 500, body: { error: { message: 'The server had an error processing your request (injected fault).', type: 'server_error', param: null, code: null } } }
    : await responder.respond(body);
  const line = JSON.stringify({ id: lineId, custom_id: customId, response: { status_code: result.status, request_id: requestId, body: result.body }, error: null });
  const ok = result.status === 200;
  // Injected: an output line damaged, or counted as completed but never written.
  const fate = ok ? faults.outputLine() : 'write';
  return { ok, kind: ok ? 'out' : 'err', text: fate === 'drop' ? null : fate === 'malformed' ? line.slice(0, Math.floor(line.length / 2)) : line };
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
