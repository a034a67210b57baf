/**
 * A byte budget for an ordered pipeline whose items learn their size as they go (a download
 * whose length arrives with its headers, a resize whose output is bounded only once the image
 * header is read). Each item takes a ticket in input order; `acquire` waits until the bytes fit,
 * except for the oldest unfinished ticket (the head, the only item that can be passed on next),
 * which never waits. So an item may grow its share at any point without deadlock: whatever the
 * others hold, the head proceeds, is passed on, and finishes. Bound: `limit` plus the head's
 * overshoot (at most one item's size).
 */
export class OrderedBudget {
  readonly #limit: number;
  #used = 0;
  #nextTicket = 0;
  /** The oldest ticket not finished: tickets finish in input order. */
  #head = 0;
  /** Waiting acquisitions, oldest ticket first. */
  readonly #waiters: Array<{ ticket: number; bytes: number; grant: () => void }> = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  get used(): number {
    return this.#used;
  }

  /** A ticket for the next item; take them in input order. */
  ticket(): BudgetTicket {
    return new BudgetTicket(this, this.#nextTicket++);
  }

  /** @internal */
  acquire(ticket: number, bytes: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (ticket === this.#head || (this.#waiters.length === 0 && this.#fits(bytes))) {
      this.#used += bytes;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i !== -1) this.#waiters.splice(i, 1);
        reject(signal!.reason);
        this.#wake();
      };
      const waiter = {
        ticket,
        bytes,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      let at = this.#waiters.length;
      while (at > 0 && this.#waiters[at - 1]!.ticket > ticket) at--;
      this.#waiters.splice(at, 0, waiter);
    });
  }

  /** @internal */
  release(bytes: number): void {
    this.#used -= bytes;
    this.#wake();
  }

  /** @internal */
  finish(ticket: number): void {
    if (ticket !== this.#head) throw new Error(`internal: budget ticket ${ticket} finished before ticket ${this.#head}`);
    this.#head++;
  }

  #wake(): void {
    while (this.#waiters.length > 0) {
      const first = this.#waiters[0]!;
      if (first.ticket !== this.#head && !this.#fits(first.bytes)) return;
      this.#waiters.shift();
      this.#used += first.bytes;
      first.grant();
    }
  }

  #fits(bytes: number): boolean {
    return this.#used === 0 || this.#used + bytes <= this.#limit;
  }
}

/** One item's share of an {@link OrderedBudget}. */
export class BudgetTicket {
  readonly #budget: OrderedBudget;
  readonly #ticket: number;
  #held = 0;

  constructor(budget: OrderedBudget, ticket: number) {
    this.#budget = budget;
    this.#ticket = ticket;
  }

  /** Bytes this item holds. */
  get held(): number {
    return this.#held;
  }

  /** Waits until `bytes` more fit (never, for the head). */
  async acquire(bytes: number, signal?: AbortSignal): Promise<void> {
    if (bytes <= 0) return;
    await this.#budget.acquire(this.#ticket, bytes, signal);
    this.#held += bytes;
  }

  /** Holds `bytes` in all: acquires the difference, or gives back the surplus. */
  async holdExactly(bytes: number, signal?: AbortSignal): Promise<void> {
    if (bytes > this.#held) return this.acquire(bytes - this.#held, signal);
    this.release(this.#held - bytes);
  }

  /** Gives back `bytes` (at most what is held). */
  release(bytes: number): void {
    const n = Math.min(bytes, this.#held);
    if (n <= 0) return;
    this.#held -= n;
    this.#budget.release(n);
  }

  /** The item is passed on or dropped: everything is given back and the next ticket becomes the head. Call in input order. */
  finish(): void {
    this.release(this.#held);
    this.#budget.finish(this.#ticket);
    // The new head may be waiting.
    this.#budget.release(0);
  }
}
