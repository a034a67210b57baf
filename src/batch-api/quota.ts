import { setTimeout as delay } from 'node:timers/promises';
import type OpenAI from 'openai';
import { optionError } from '../errors.js';
import type { ShardRecord } from '../types.js';
import { refreshBatch } from './batch-refresh.js';
import { isUnfinished, shardKey, type BatchState, type Manifest } from './manifest.js';
import type { RetryOptions } from './retry.js';

export interface QuotaLimits {
  /** Unfinished batches of the job at once (validating, in_progress, finalizing, cancelling). Default: no limit. */
  maxActiveBatches?: number;
  /** Estimated input tokens of the job's unfinished batches (the provider's enqueued-token quota). Default: no limit. */
  maxEnqueuedTokens?: number;
}

export interface QuotaGateOptions extends QuotaLimits {
  client: OpenAI;
  manifest: Manifest;
  /** First wait between status polls while a shard is held back; it grows by half up to `maxPollMs`. Default 5 s. */
  pollMs?: number;
  /** Default 60 s (Azure asks for at least 60 s between status calls). */
  maxPollMs?: number;
  retries?: number;
  /** Told before each retry of a status call (see RetryOptions.onRetry). */
  onRetry?: RetryOptions['onRetry'];
  /** First wait before another try of a failed API call, doubling up to 60 s. Default 1 s (tests pass a few ms). */
  minRetryDelayMs?: number;
  /** Told when a shard is held back (and why), and when one is over the token limit on its own. */
  onEvent?: (event: { type: 'held' | 'alone'; shard: ShardRecord; detail: string }) => void;
}

export type QuotaEvent = Parameters<NonNullable<QuotaGateOptions['onEvent']>>[0];

const DEFAULTS = { pollMs: 5000, maxPollMs: 60_000 };

/**
 * Holds shards back while creating one more batch would take the job past `maxActiveBatches`
 * or `maxEnqueuedTokens`, counting the job's unfinished batches in the manifest (every round)
 * and the batches being created now; polls their statuses (retried, with growing waits) until
 * enough of them finish. Shards are let through in the order they asked.
 *
 * A shard's tokens are its build's estimate (`input_tokens`); a shard without one (an older
 * build) counts as the whole token limit, so it goes alone. A shard over the token limit on its
 * own goes when nothing else of the job is unfinished (it could never go otherwise).
 *
 * After the provider refuses a batch on its quota (`token_limit_exceeded`, at create or after
 * validation: other jobs share the quota), creation pauses until a batch of the job finishes or
 * a wait passes (from `pollMs`, doubling up to `maxPollMs`).
 */
export class QuotaGate {
  readonly #o: QuotaGateOptions & typeof DEFAULTS;
  #turn: Promise<unknown> = Promise.resolve();
  /** Batches being created now: their tokens. */
  readonly #creating = new Set<{ tokens: number }>();
  #cooldown: { until: number; unfinished: Set<string> } | null = null;
  #strikes = 0;
  readonly #seenRequeued = new Set<string>();

  constructor(options: QuotaGateOptions) {
    this.#o = { ...DEFAULTS, ...options };
    for (const key of ['maxActiveBatches', 'maxEnqueuedTokens', 'pollMs', 'maxPollMs'] as const) {
      const v = this.#o[key];
      if (v !== undefined && !(Number.isSafeInteger(v) && v >= 1)) throw optionError(key, v, 'a positive integer');
    }
    for (const b of options.manifest.state.batches.values()) if (b.requeued) this.#seenRequeued.add(b.batchId);
  }

  get limited(): boolean {
    return this.#o.maxActiveBatches !== undefined || this.#o.maxEnqueuedTokens !== undefined;
  }

  /** The job's unfinished batches and their estimated tokens, batches being created included. */
  usage(): { batches: number; tokens: number } {
    let batches = this.#creating.size;
    let tokens = [...this.#creating].reduce((n, c) => n + c.tokens, 0);
    for (const b of this.#o.manifest.state.batches.values()) {
      if (!isUnfinished(b)) continue;
      batches++;
      tokens += this.#tokensOfBatch(b);
    }
    return { batches, tokens };
  }

  /**
   * Waits, in turn, until a batch for `shard` fits, and reserves its place. Call the returned
   * function once the batch is recorded in the manifest, or creating it failed.
   */
  admit(shard: ShardRecord, signal?: AbortSignal): Promise<() => void> {
    const turn = this.#turn.then(() => this.#waitFor(shard, signal));
    this.#turn = turn.catch(() => {});
    return turn;
  }

  /** The provider refused on its token quota: pause creation (see the class comment). */
  tokenLimitHit(): void {
    this.#strikes++;
    const wait = Math.min(this.#o.maxPollMs, this.#o.pollMs * 2 ** (this.#strikes - 1));
    const unfinished = new Set([...this.#o.manifest.state.batches.values()].filter(isUnfinished).map((b) => b.batchId));
    this.#cooldown = { until: Date.now() + wait, unfinished };
  }

  /** Refreshes the status of every unfinished batch of the job (re-queueing those failed on the quota). */
  async poll(signal?: AbortSignal): Promise<void> {
    const todo = [...this.#o.manifest.state.batches.values()].filter(isUnfinished);
    // The first failure stops the other workers too (they would go on writing to a manifest the
    // caller is about to close), and is thrown once they have all stopped.
    const stop = new AbortController();
    const both = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
    const work = async () => {
      for (let b = todo.shift(); b && !both.aborted; b = todo.shift()) {
        await refreshBatch(this.#o.client, this.#o.manifest, b, { signal: both, ...(this.#o.retries === undefined ? {} : { retries: this.#o.retries }), minTimeoutMs: this.#o.minRetryDelayMs, ...(this.#o.onRetry ? { onRetry: this.#o.onRetry } : {}) });
      }
    };
    let first: { error: unknown } | null = null;
    await Promise.allSettled(
      Array.from({ length: Math.min(4, todo.length) }, () =>
        work().catch((error: unknown) => {
          first ??= { error };
          stop.abort();
        }),
      ),
    );
    if (first) throw (first as { error: unknown }).error;
    for (const b of this.#o.manifest.state.batches.values()) {
      if (b.requeued && !this.#seenRequeued.has(b.batchId)) {
        this.#seenRequeued.add(b.batchId);
        this.tokenLimitHit();
      }
    }
  }

  /**
   * Polls (with growing waits) until no batch of the job is still validating, or one was
   * re-queued: after it, every quota failure of the job's batches is known.
   */
  async waitForValidation(signal?: AbortSignal): Promise<void> {
    const requeued = this.#seenRequeued.size;
    for (let wait = this.#o.pollMs; ; wait = this.#grow(wait)) {
      await this.poll(signal);
      const validating = [...this.#o.manifest.state.batches.values()].some((b) => isUnfinished(b) && (b.status === undefined || b.status === 'validating'));
      if (!validating || this.#seenRequeued.size > requeued) return;
      await delay(wait, undefined, signal ? { signal } : {});
    }
  }

  async #waitFor(shard: ShardRecord, signal?: AbortSignal): Promise<() => void> {
    const tokens = shard.input_tokens ?? this.#o.maxEnqueuedTokens ?? 0;
    let told = '';
    for (let wait = this.#o.pollMs, polled = false; ; ) {
      const held = this.#heldBecause(tokens);
      if (held === null) break;
      if (polled) {
        if (held !== told) this.#o.onEvent?.({ type: 'held', shard, detail: held });
        told = held;
        await delay(wait, undefined, signal ? { signal } : {});
        wait = this.#grow(wait);
      }
      // Statuses in the manifest may be old: look before waiting.
      await this.poll(signal);
      polled = true;
    }
    if (this.#o.maxEnqueuedTokens !== undefined && tokens > this.#o.maxEnqueuedTokens) {
      this.#o.onEvent?.({ type: 'alone', shard, detail: `~${tokens} tokens alone are over --max-enqueued-tokens ${this.#o.maxEnqueuedTokens}; submitted while nothing else of the job runs` });
    }
    const place = { tokens };
    this.#creating.add(place);
    return () => void this.#creating.delete(place);
  }

  /** Why one more batch of `tokens` cannot be created now, or null. */
  #heldBecause(tokens: number): string | null {
    const cooldown = this.#cooldown;
    if (cooldown) {
      const stillUnfinished = [...cooldown.unfinished].every((id) => {
        const b = this.#o.manifest.state.batches.get(id);
        return b !== undefined && isUnfinished(b);
      });
      if (Date.now() < cooldown.until && stillUnfinished) return `the provider refused a batch with token_limit_exceeded; waiting until a batch finishes or ${Math.ceil((cooldown.until - Date.now()) / 1000)} s pass`;
      if (!stillUnfinished) this.#strikes = 0;
      this.#cooldown = null;
    }
    const { batches, tokens: enqueued } = this.usage();
    const { maxActiveBatches, maxEnqueuedTokens } = this.#o;
    if (maxActiveBatches !== undefined && batches + 1 > maxActiveBatches) return `${batches} unfinished batches (--max-active-batches ${maxActiveBatches})`;
    if (maxEnqueuedTokens !== undefined && batches > 0 && enqueued + tokens > maxEnqueuedTokens) {
      return `~${enqueued} tokens enqueued + ~${tokens} for this shard would pass --max-enqueued-tokens ${maxEnqueuedTokens}`;
    }
    return null;
  }

  #tokensOfBatch(b: BatchState): number {
    const shard = b.sha256 === undefined ? undefined : this.#o.manifest.state.shards.get(shardKey({ sha256: b.sha256, round: b.round }))?.shard;
    return shard?.input_tokens ?? this.#o.maxEnqueuedTokens ?? 0;
  }

  #grow(wait: number): number {
    return Math.min(this.#o.maxPollMs, Math.round(wait * 1.5));
  }
}
