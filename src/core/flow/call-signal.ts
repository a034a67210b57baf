/**
 * Request options for one API call under a long-lived signal. The `openai` client adds an abort
 * listener to the signal it is given and never removes it: under the job's own signal, a poll
 * every few seconds for days would pile up thousands. Each call gets a signal of its own that
 * follows the job's (`AbortSignal.any`, which the parent holds weakly), and goes with the call.
 */
export function callSignal(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal: AbortSignal.any([signal]) } : {};
}
