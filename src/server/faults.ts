/**
 * Fault injection for the local server, for tests and for trying a client's resilience. Every
 * choice comes from a seeded generator, so a run with the same seed fails the same requests.
 */
export interface FaultOptions {
  /** Fraction of HTTP requests answered 429 with `Retry-After`. Default 0. */
  rate429?: number;
  /** Fraction of HTTP requests answered 500. Default 0. */
  rate500?: number;
  /** Seconds in the `Retry-After` of injected 429s. Default 1. */
  retryAfterSeconds?: number;
  /** Milliseconds added before every HTTP answer. Default 0. */
  slowMs?: number;
  /** Only paths matching this regular expression get HTTP faults (e.g. `^/batches`). Default all. */
  routes?: string;
  /** Fraction of batch lines answered with a 500 in the error file. Default 0. */
  lineFailureRate?: number;
  /** A batch expires once this many of its lines are done: the rest go to the error file as `batch_expired`. */
  expireAfterLines?: number;
  /** Batches fail with `token_limit_exceeded` while more than this many prompt tokens are enqueued. */
  tokenLimit?: number;
  /**
   * Where the token limit bites: `validation` (the batch fails after validating, as OpenAI and
   * most Azure regions do) or `create` (`POST /batches` answers 400, as Azure's fail-fast regions
   * do). Default `validation`.
   */
  tokenLimitAt?: 'validation' | 'create';
  /** Milliseconds spent on each batch line (slow processing). Default 0. */
  lineDelayMs?: number;
  /** Seed of the generator. Default 1. */
  seed?: number;
}

export class Faults {
  readonly options: Required<Omit<FaultOptions, 'routes' | 'expireAfterLines' | 'tokenLimit'>> & Pick<FaultOptions, 'expireAfterLines' | 'tokenLimit'>;
  readonly #routes: RegExp | null;
  #state: number;

  constructor(options: FaultOptions = {}) {
    this.options = {
      rate429: options.rate429 ?? 0,
      rate500: options.rate500 ?? 0,
      retryAfterSeconds: options.retryAfterSeconds ?? 1,
      slowMs: options.slowMs ?? 0,
      lineFailureRate: options.lineFailureRate ?? 0,
      lineDelayMs: options.lineDelayMs ?? 0,
      seed: options.seed ?? 1,
      tokenLimitAt: options.tokenLimitAt ?? 'validation',
      ...(options.expireAfterLines === undefined ? {} : { expireAfterLines: options.expireAfterLines }),
      ...(options.tokenLimit === undefined ? {} : { tokenLimit: options.tokenLimit }),
    };
    for (const key of ['rate429', 'rate500', 'lineFailureRate'] as const) {
      const v = this.options[key];
      if (!(v >= 0 && v <= 1)) throw new Error(`fault ${key}: expected a fraction from 0 to 1, got ${v}`);
    }
    this.#routes = options.routes ? new RegExp(options.routes) : null;
    this.#state = this.options.seed >>> 0 || 1;
  }

  /** A number in [0, 1) from a small seeded generator (mulberry32). */
  random(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** The fault for an HTTP request to `route`, if one is drawn. */
  httpFault(route: string): 429 | 500 | null {
    if (this.#routes && !this.#routes.test(route)) return null;
    if (this.options.rate429 > 0 && this.random() < this.options.rate429) return 429;
    if (this.options.rate500 > 0 && this.random() < this.options.rate500) return 500;
    return null;
  }

  lineFails(): boolean {
    return this.options.lineFailureRate > 0 && this.random() < this.options.lineFailureRate;
  }
}
