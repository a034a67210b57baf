import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, asObject, readJson, sendJson } from '../http.js';
import type { Responder } from '../responders.js';
import { chatBodyProblem } from '../chat-body.js';

/** `POST /chat/completions` (and Azure's `/deployments/{d}/chat/completions`): one request, answered by the responder. */
export async function chatCompletions(req: IncomingMessage, res: ServerResponse, responder: Responder, limit: number, deployment?: string): Promise<void> {
  const body = asObject(await readJson(req, limit));
  if (deployment !== undefined && body.model === undefined) body.model = deployment;
  const problem = chatBodyProblem(body, { batch: false });
  if (problem) throw new HttpError(400, problem.message, { param: problem.param, code: problem.code });
  if (body.stream === true) throw new HttpError(400, 'Streaming is not supported by the local server.', { param: 'stream' });
  const answer = await responder.respond(body);
  sendJson(res, answer.status, answer.body);
}
