/** Errors that void a run. Row-level problems are rejects (see `Reject`), never these. */

export const EXIT = {
  OK: 0,
  /** A run failed: I/O error, a fatal input problem, an internal check. */
  FAILURE: 1,
  /** Bad flags or options. */
  USAGE: 2,
  /** `--strict` and at least one row was rejected. */
  REJECTS: 3,
  /** The estimated cost is over `--max-cost` (or cannot be estimated): nothing was uploaded. */
  OVER_COST: 4,
  /** No row became a request: the dataset is empty, or every row was rejected (see the rejects file). */
  NO_REQUESTS: 5,
  SIGINT: 130,
  SIGTERM: 143,
} as const;

export type ErrorCode =
  | 'E_OPTION'
  | 'E_INPUT'
  | 'E_OUTPUT'
  /** The API kept failing (transient failures past the retries), or refused a request. */
  | 'E_API'
  | 'E_LINE_TOO_LONG'
  /** The estimated cost is over --max-cost. */
  | 'E_MAX_COST'
  /** No row of the dataset became a request. */
  | 'E_NO_REQUESTS'
  | 'E_COUNTS';

/** An error with a stable code; its message is written for the user, not for a stack trace. */
export class BatchExplainError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BatchExplainError';
    this.code = code;
  }
}

/** A bad option value: thrown synchronously by stage factories, quoting the value. */
export function optionError(name: string, value: unknown, expected: string): BatchExplainError {
  return new BatchExplainError('E_OPTION', `option ${name}: expected ${expected}, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'nothing';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** An API or network failure in a few words, for messages: status and message, or the network error's code. */
export function describeApiError(err: unknown): string {
  const e = err as { status?: number; message?: string; code?: string; cause?: { code?: string; message?: string } };
  const message = (e?.message ?? String(err)).split('\n')[0]!;
  if (typeof e?.status === 'number') return message.startsWith(String(e.status)) ? message : `${e.status} ${message}`;
  const code = e?.code ?? e?.cause?.code;
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
