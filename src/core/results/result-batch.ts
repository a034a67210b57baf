import type { ResultRecord } from './result-line.js';

// The outcome payloads of the merge's step 4 (the format is described in result-resolver.ts), made and read back.

/** A result (or a line that is not one) as an outcome payload. */
export function outcomePayload(r: ResultRecord | { bad: string }, where: () => string): string {
  if ('bad' in r) return failurePayload('', 'no_result', null, `its result line is damaged (${r.bad}) at ${where()}`);
  if (r.explanation !== null) return JSON.stringify(r.explanation);
  const e = r.error!;
  return failurePayload(r.id, e.reason, e.code ?? (e.status ? `http_${e.status}` : null), `${e.message} (${where()})`);
}

export function failurePayload(id: string, reason: string, code: string | null, message: string | null): string {
  return `!${JSON.stringify([id, reason, code, message])}`;
}

/** A failure payload read back (`buf[start, end)` begins with `!`). */
export function readFailure(buf: Buffer, start: number, end: number): { id: string; reason: string; code?: string; message?: string } {
  const [id, reason, code, message] = JSON.parse(buf.toString('utf8', start + 1, end)) as [string, string, string | null, string | null];
  return { id, reason, ...(code === null ? {} : { code }), ...(message === null ? {} : { message }) };
}
