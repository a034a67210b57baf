/**
 * A counting semaphore over bytes: `acquire(n)` waits until `n` bytes fit in the budget. A request
 * larger than the whole budget is let through alone, so one huge image cannot deadlock a run.
 * Waiters are served first come, first served, which keeps ordered pipelines free of deadlock.
 */
export class ByteBudget {
  readonly #limit: number;
  #used = 0;
  readonly #waiters: Array<{ bytes: number; resolve: () => void }> = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  get used(): number {
    return this.#used;
  }

  /** Resolves once `bytes` are reserved; rejects with the signal's reason if it aborts first. */
  acquire(bytes: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.#waiters.length === 0 && this.#fits(bytes)) {
      this.#used += bytes;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        bytes,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i !== -1) this.#waiters.splice(i, 1);
        reject(signal!.reason);
        this.#wake();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  release(bytes: number): void {
    this.#used -= bytes;
    this.#wake();
  }

  #wake(): void {
    while (this.#waiters.length > 0 && this.#fits(this.#waiters[0]!.bytes)) {
      const waiter = this.#waiters.shift()!;
      this.#used += waiter.bytes;
      waiter.resolve();
    }
  }

  #fits(bytes: number): boolean {
    return this.#used === 0 || this.#used + bytes <= this.#limit;
  }
}
