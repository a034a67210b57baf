import path from 'node:path';
import { writeFile } from 'node:fs/promises';

/** A batch output line answering `id` with `content`. */
export function okLine(id: string, content: string, finish = 'stop'): string {
  return JSON.stringify({
    id: `batch_req_${id}`,
    custom_id: id,
    response: {
      status_code: 200,
      request_id: `req_${id}`,
      body: { id: 'chatcmpl-x', object: 'chat.completion', created: 1, model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finish }], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } },
    },
    error: null,
  });
}

export const explained = (text: string) => JSON.stringify({ explanation: text });

/** An error file line: an HTTP error answer. */
export function httpErrorLine(id: string, status: number, code: string | null, message: string): string {
  return JSON.stringify({ id: `batch_req_${id}`, custom_id: id, response: { status_code: status, request_id: `req_${id}`, body: { error: { message, type: 'server_error', param: null, code } } }, error: null });
}

export function expiredLine(id: string): string {
  return JSON.stringify({ id: `batch_req_${id}`, custom_id: id, response: null, error: { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' } });
}

export async function writeLines(file: string, lines: string[]): Promise<string> {
  await writeFile(file, lines.length ? `${lines.join('\n')}\n` : '');
  return file;
}

/** `dir/out.jsonl`: `lines` result lines (ids shuffled; line 8 not a result line), for the index tests. */
export async function indexedResultsFile(dir: string, lines: number): Promise<string> {
  const body = Array.from({ length: lines }, (_, i) => (i === 7 ? 'not a result line' : JSON.stringify({ id: `batch_req_${i}`, custom_id: `row-${(i * 7919) % lines}`, response: { status_code: 200 } })));
  return writeLines(path.join(dir, 'out.jsonl'), body);
}
