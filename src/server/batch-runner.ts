import { fileLines } from '../core/io/file-lines.js';
import { ByteBudget } from '../core/flow/byte-budget.js';
import { positiveInteger } from '../core/flow/options.js';
import { loadUncheckedTextCounter, requestBodyTokens, textEncodingFor } from '../core/requests/token-estimate.js';
import type { Faults } from './faults.js';
import { HttpError } from './http.js';
import { answerLine, expiredLine } from './batch-lines.js';
import { BatchOutput, type OutputKind } from './batch-output.js';
import type { Responder } from './responders.js';
import { TERMINAL, type BatchRecord, type Store } from './store.js';
import { validateBatchFile } from './validate-batch.js';

export interface RunnerOptions {
  store: Store;
  responder: Responder;
  faults: Faults;
  /** Lines answered at once per batch. Default 8. */
  concurrency?: number;
  /** Requests per batch file: OpenAI 50,000, Azure 100,000. */
  maxRequests?: { openai: number; azure: number };
  /** Batches processed at once; the others wait their turn in their status. Default 16. */
  maxRunning?: number;
  /** Models the OpenAI routes know; null: any. Default null. */
  models?: ReadonlySet<string> | null;
}

/**
 * 16 batches at once: each holds three open files (input, output, errors) and `concurrency` lines
 * in flight. Unbounded, 600 batches created at once by `bench/load.mjs` under `ulimit -n 1024` ran
 * the server out of file descriptors.
 */
export const DEFAULT_MAX_RUNNING = 16;
/** Errors of a server short of file descriptors: the batch is tried again after `RETRY_LATER_MS`. */
const OUT_OF_DESCRIPTORS = new Set(['EMFILE', 'ENFILE']);
const RETRY_LATER_MS = 1000;

/** request_counts reach disk at most this often while a batch runs. */
const SAVE_EVERY_MS = 250;

/**
 * Runs batches through the lifecycle: validating → in_progress → finalizing → completed, or
 * failed (validation errors, token limit), cancelling → cancelled, expired. Lines are read from
 * the stored input file as a stream and answered by the responder with bounded concurrency;
 * output and error lines are streamed to their files. A batch that was running when the server
 * stopped starts over when it starts again (its output so far is discarded, so no line is
 * written twice).
 */
export class BatchRunner {
  readonly #o: Required<RunnerOptions>;
  readonly #running = new Map<string, { cancel: AbortController; done: Promise<void> }>();
  /** Batches admitted at create under the token limit and not started yet: their tokens count. */
  readonly #admitted = new Set<BatchRecord>();

  constructor(options: RunnerOptions) {
    this.#o = { concurrency: 8, maxRequests: { openai: 50_000, azure: 100_000 }, maxRunning: DEFAULT_MAX_RUNNING, models: null, ...options };
    positiveInteger('concurrency', this.#o.concurrency);
    positiveInteger('maxRunningBatches', this.#o.maxRunning);
    this.#turns = new ByteBudget(this.#o.maxRunning);
  }

  /** Turns to run, one a batch, first come first served. */
  readonly #turns: ByteBudget;

  /** Starts (or restarts) every batch that is not finished. */
  resumeAll(): void {
    for (const record of this.#o.store.batches.values()) if (!TERMINAL.has(record.batch.status)) this.start(record);
  }

  /**
   * Azure's fail-fast regions check the token limit when a batch is created: with
   * `tokenLimitAt: 'create'` this answers 400 `token_limit_exceeded` while the file's tokens
   * would pass the limit with those of the unfinished batches, and otherwise counts them as
   * enqueued from now on.
   */
  async admitAtCreate(record: BatchRecord): Promise<void> {
    const { tokenLimit: limit, tokenLimitAt } = this.#o.faults.options;
    if (limit === undefined || tokenLimitAt !== 'create') return;
    const input = this.#o.store.contentPath(record.batch.input_file_id);
    const counted = await validateBatchFile(input, { endpoint: record.batch.endpoint, maxRequests: Infinity, countTokens: this.#countTokens });
    const tokens = counted.ok ? counted.tokens : 0;
    const enqueued = this.#enqueued(record, ['validating', 'in_progress', 'finalizing', 'cancelling']) + [...this.#admitted].reduce((n, r) => n + (r.enqueuedTokens ?? 0), 0);
    if (enqueued + tokens > limit) {
      throw new HttpError(400, `${tokenLimitMessage(counted.ok ? counted.model : 'the model', limit)} (token_limit_exceeded)`, { code: 'token_limit_exceeded' });
    }
    record.enqueuedTokens = tokens;
    this.#admitted.add(record);
  }

  /** Prompt tokens as the token limit counts them: the requests' text and images (core/requests/token-estimate.ts). */
  readonly #countTokens = async (body: Record<string, unknown>): Promise<number> =>
    requestBodyTokens(body, await loadUncheckedTextCounter(textEncodingFor(typeof body.model === 'string' ? body.model : '')));

  /** Tokens of the other batches in `statuses` (those admitted at create and not started yet are counted by the caller, once). */
  #enqueued(record: BatchRecord, statuses: string[]): number {
    return [...this.#o.store.batches.values()]
      .filter((r) => r !== record && !this.#admitted.has(r) && statuses.includes(r.batch.status))
      .reduce((n, r) => n + (r.enqueuedTokens ?? 0), 0);
  }

  start(record: BatchRecord): void {
    this.#admitted.delete(record);
    if (this.#running.has(record.batch.id)) return;
    const cancel = new AbortController();
    if (record.batch.status === 'cancelling') cancel.abort();
    // A batch cancelled while it waits for its turn goes at once (it only has to be marked cancelled).
    const done = this.#turns
      .acquire(1, cancel.signal)
      .then(
        () => true,
        () => false,
      )
      .then(async (took) => {
        try {
          if (!this.#stopping) await this.#run(record, cancel.signal);
        } finally {
          if (took) this.#turns.release(1);
        }
      })
      .catch(async (err) => {
        if (OUT_OF_DESCRIPTORS.has((err as NodeJS.ErrnoException).code ?? '') && !this.#stopping) {
          // The server's own shortage, not the batch's fault: it starts over a little later, as after a restart.
          setTimeout(() => this.start(record), RETRY_LATER_MS).unref();
          return;
        }
        // An internal failure must not leave the batch hanging: it fails with the reason.
        record.batch.status = 'failed';
        record.batch.failed_at = this.#o.store.now();
        record.batch.errors = { object: 'list', data: [{ code: 'server_error', message: `local server: ${(err as Error).message}`, param: null, line: null }] };
        await this.#o.store.saveBatch(record).catch(() => {});
      })
      .finally(() => this.#running.delete(record.batch.id));
    this.#running.set(record.batch.id, { cancel, done });
  }

  /** Asks a running batch to stop: in-flight lines finish, the rest are not started. */
  cancel(id: string): void {
    this.#running.get(id)?.cancel.abort();
  }

  /** Waits for every running batch to stop (after `stopAll`, or to finish). */
  async idle(): Promise<void> {
    await Promise.all([...this.#running.values()].map((r) => r.done));
  }

  /** Stops processing without changing any batch's status: a restart resumes them. */
  async stopAll(): Promise<void> {
    this.#stopping = true;
    await this.idle();
  }
  #stopping = false;

  async #run(record: BatchRecord, cancelled: AbortSignal): Promise<void> {
    const { store } = this.#o;
    const b = record.batch;
    if (b.status === 'validating') {
      const input = store.contentPath(b.input_file_id);
      const { tokenLimit: limit, tokenLimitAt } = this.#o.faults.options;
      const result = await validateBatchFile(input, {
        endpoint: b.endpoint,
        maxRequests: this.#o.maxRequests[record.flavor],
        ...(record.flavor === 'openai' ? { exactUrl: true, models: this.#o.models } : {}),
        ...(limit === undefined ? {} : { countTokens: this.#countTokens }),
      });
      if (this.#stopping) return;
      if (!result.ok) return this.#fail(record, result.errors);
      b.model = result.model;
      b.request_counts = { total: result.requests, completed: 0, failed: 0 };
      record.enqueuedTokens = result.tokens;
      // Checked as the batch leaves validation (the check and the move to in_progress happen in
      // one turn, so two batches validated at once cannot both slip under the limit).
      if (limit !== undefined && tokenLimitAt === 'validation' && this.#enqueued(record, ['in_progress', 'finalizing', 'cancelling']) + result.tokens > limit) {
        return this.#fail(record, [{ code: 'token_limit_exceeded', message: tokenLimitMessage(result.model, limit), param: null, line: null }]);
      }
      if (cancelled.aborted || (b.status as string) === 'cancelling') return this.#finish(record, 'cancelled', null);
      b.status = 'in_progress';
      b.in_progress_at = store.now();
      await store.saveBatch(record);
    }
    if (b.status === 'in_progress' || b.status === 'cancelling' || b.status === 'finalizing') await this.#process(record, cancelled);
  }

  async #process(record: BatchRecord, cancelled: AbortSignal): Promise<void> {
    const output = await BatchOutput.open(this.#o.store, record.batch.id, () => this.#o.faults.random());
    try {
      await this.#answerLines(record, cancelled, output);
    } catch (err) {
      // A failure of the input file or of a write: this attempt's files go (closed first).
      await output.abandon();
      throw err;
    }
  }

  /** Streams the input file's lines to the responder, `concurrency` at a time, into `output`; then closes it and records the batch done. */
  async #answerLines(record: BatchRecord, cancelled: AbortSignal, output: BatchOutput): Promise<void> {
    const { store, faults, responder } = this.#o;
    const b = record.batch;
    const counts = { total: b.request_counts.total, completed: 0, failed: 0 };
    b.request_counts = counts;
    let lastSave = Date.now();
    const emit = async (kind: OutputKind, text: string) => {
      await output.emit(kind, text);
      if (Date.now() - lastSave > SAVE_EVERY_MS) {
        lastSave = Date.now();
        await store.saveBatch(record);
      }
    };
    const expireAfter = faults.options.expireAfterLines;
    let expired = false;
    const inflight = new Set<Promise<void>>();
    const answer = async (customId: string, body: Record<string, unknown>) => {
      const line = await answerLine(customId, body, { faults, responder, chat: /chat\/completions$/.test(b.endpoint), flavor: record.flavor });
      if (line.ok) counts.completed++;
      else counts.failed++;
      if (line.usage) addUsage(b, line.usage);
      if (line.text !== null) await emit(line.kind, line.text);
    };

    for await (const { text } of fileLines(store.contentPath(b.input_file_id))) {
      if (text.trim() === '') continue;
      const req = JSON.parse(text) as { custom_id: string; body: Record<string, unknown> };
      // OpenAI's 24 h window (on the server's clock); Azure does not expire jobs. Lines in flight finish.
      const windowOver = record.flavor === 'openai' && typeof b.expires_at === 'number' && store.now() >= b.expires_at;
      if (expired || windowOver || (expireAfter !== undefined && counts.completed + counts.failed + inflight.size >= expireAfter)) {
        expired = true;
        // Not started before the window closed: reported as the API does.
        counts.failed++;
        await emit('err', expiredLine(req.custom_id));
        continue;
      }
      if (cancelled.aborted || this.#stopping || output.error) break;
      // A line's failure (a write that failed) is kept, not thrown: the others in flight finish first.
      const p: Promise<void> = answer(req.custom_id, req.body)
        .catch((err: Error) => output.fail(err))
        .finally(() => inflight.delete(p));
      inflight.add(p);
      if (inflight.size >= this.#o.concurrency) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    await output.close();
    if (this.#stopping && !cancelled.aborted) {
      // The server is stopping: this attempt's output is dropped; the next start redoes the batch.
      await output.discard();
      return;
    }

    // A cancelled batch goes from cancelling to cancelled, never through finalizing.
    if (!cancelled.aborted) {
      b.status = 'finalizing';
      b.finalizing_at = store.now();
      await store.saveBatch(record);
    }
    b.output_file_id = await output.register(record, 'out', counts.completed);
    b.error_file_id = await output.register(record, 'err', counts.failed);
    await this.#finish(record, cancelled.aborted ? 'cancelled' : expired ? 'expired' : 'completed', null);
  }

  async #finish(record: BatchRecord, status: 'completed' | 'cancelled' | 'expired', _reason: null): Promise<void> {
    const b = record.batch;
    b.status = status;
    const at = this.#o.store.now();
    if (status === 'completed') b.completed_at = at;
    if (status === 'cancelled') b.cancelled_at = at;
    if (status === 'expired') b.expired_at = at;
    await this.#o.store.saveBatch(record);
  }

  async #fail(record: BatchRecord, errors: Array<{ code: string; message: string; param: string | null; line: number | null }>): Promise<void> {
    const b = record.batch;
    b.status = 'failed';
    b.failed_at = this.#o.store.now();
    b.errors = { object: 'list', data: errors };
    await this.#o.store.saveBatch(record);
  }
}

function addUsage(b: BatchRecord['batch'], usage: { prompt_tokens: number; completion_tokens: number }): void {
  const u = (b.usage ??= { input_tokens: 0, input_tokens_details: { cached_tokens: 0 }, output_tokens: 0, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 0 });
  u.input_tokens += usage.prompt_tokens;
  u.output_tokens += usage.completion_tokens;
  u.total_tokens += usage.prompt_tokens + usage.completion_tokens;
}

function tokenLimitMessage(model: string, limit: number): string {
  return `Enqueued token limit reached for ${model} in organization local. Limit: ${limit.toLocaleString('en-US')} enqueued tokens. Please try again once some in_progress batches have been completed.`;
}
