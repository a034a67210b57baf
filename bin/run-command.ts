import { RetriesExhaustedError } from '../src/core/http/retry.js';
import { BatchExplainError, EXIT, describeApiError } from '../src/errors.js';
import { say } from './terminal.js';

/**
 * Runs a command's body with what every command needs: an AbortSignal fired by SIGINT/SIGTERM
 * (then an exit code of 130/143 and how to go on), a quiet exit on a closed stdout (`| head`), and
 * errors printed as one line with an exit code.
 */
/** For the commands that keep a job's manifest. */
export const JOB_RESUME_HINT = 'The manifest keeps what was done: run the same command again to resume (no shard is submitted twice).';

export async function runCommand(body: (signal: AbortSignal) => Promise<number>, options: { resumeHint?: string } = {}): Promise<void> {
  const controller = new AbortController();
  let signalName: NodeJS.Signals | null = null;
  let stdoutClosed = false;
  const onSignal = (name: NodeJS.Signals) => {
    if (signalName) process.exit(name === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM); // second signal: leave now
    signalName = name;
    say(`\nbatch-explain: ${name} received, stopping (send it again to quit at once)\n`);
    controller.abort(new BatchExplainError('E_INPUT', `stopped by ${name}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Logs whose reader went away (`2>&1 | head`): the job goes on unlogged, not killed mid-upload.
  process.stderr.on('error', () => {});
  let stdoutError: Error | null = null;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') {
      // The reader went away (`| head`): a normal ending, not a failure.
      stdoutClosed = true;
      controller.abort(err);
      return;
    }
    // Disk full behind a redirect, and the like: that is the error to report, not the abort it causes.
    stdoutError ??= Object.assign(new Error(`standard output: ${err.message}`), { code: err.code, syscall: err.syscall ?? 'write' });
    controller.abort(err);
  });

  let code: number;
  try {
    code = await body(controller.signal);
  } catch (err) {
    // Stopped by a signal: the abort's own error says nothing more than the line below.
    code = stdoutClosed || isEpipe(err) ? EXIT.OK : signalName ? EXIT.FAILURE : report(stdoutError ?? err);
  }
  if (signalName) {
    code = signalName === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM;
    say(`batch-explain: stopped by ${signalName}. ${options.resumeHint ?? 'Nothing was left half-written: run the same command again.'}\n`);
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.exitCode = code;
}

function isEpipe(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'EPIPE' || (err as { cause?: NodeJS.ErrnoException })?.cause?.code === 'EPIPE';
}

/** The line an API call that kept failing ends a command with: how many attempts, the last failure, and that a re-run resumes. */
export function retriesExhaustedLine(err: RetriesExhaustedError): string {
  return `the API still failed after ${err.attempts} attempt${err.attempts === 1 ? '' : 's'} (last: ${err.description}). Nothing is lost: run the same command again to resume`;
}

/** Exit codes of the errors that have one of their own (any other: 1). */
const EXIT_OF_CODE: Partial<Record<BatchExplainError['code'], number>> = { E_OPTION: EXIT.USAGE, E_MAX_COST: EXIT.OVER_COST, E_NO_REQUESTS: EXIT.NO_REQUESTS };

function report(err: unknown): number {
  if (err instanceof RetriesExhaustedError) {
    say(`batch-explain: ${retriesExhaustedLine(err)}\n`);
    return EXIT.FAILURE;
  }
  if (err instanceof BatchExplainError) {
    say(`batch-explain: ${err.message}\n`);
    return EXIT_OF_CODE[err.code] ?? EXIT.FAILURE;
  }
  const e = err as NodeJS.ErrnoException;
  if (e?.name === 'AbortError') {
    say('batch-explain: stopped\n');
    return EXIT.FAILURE;
  }
  const status = (err as { status?: unknown })?.status;
  if (typeof status === 'number') {
    // The API refused a request (a 4xx that another try would not fix): its own message says why.
    say(`batch-explain: the API refused a request: ${describeApiError(err)}\n`);
    return EXIT.FAILURE;
  }
  if (e?.code && e.syscall) {
    // An operating-system error (disk full, permission, missing folder): its own message says it.
    say(`batch-explain: ${e.message}\n`);
    return EXIT.FAILURE;
  }
  say(`batch-explain: internal error: ${e?.message ?? String(err)}\n`);
  if (process.env.BATCH_EXPLAIN_DEBUG) say(`${e?.stack ?? ''}\n`);
  else say('(set BATCH_EXPLAIN_DEBUG=1 to see where)\n');
  return EXIT.FAILURE;
}
