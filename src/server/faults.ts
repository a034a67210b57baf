import { optionError } from '../errors.js';

/**
 * Fault injection for the local server, for tests and for trying a client's resilience. Every
 * choice comes from a seeded generator, so a run with the same seed fails the same requests.
 */
export interface FaultOptions {
  /** Fraction of HTTP requests answered 429 with `Retry-After`. Default 0. */
  rate429?: number;
  /** The first N HTTP requests (on the fault routes) are all answered 429: a storm. Default 0. */
  storm429?: number;
  /** Fraction of HTTP requests answered 500. Default 0. */
  rate500?: number;
  /** Fraction of HTTP requests answered 502 (a gateway in front of the API failing). Default 0. */
  rate502?: number;
  /** Fraction of HTTP requests answered 503 (overloaded). Default 0. */
  rate503?: number;
  /** Seconds in the `Retry-After` of injected 429s. Default 1. */
  retryAfterSeconds?: number;
  /** Milliseconds added before answering a request (see `slowRate`). Default 0. */
  slowMs?: number;
  /** Fraction of requests that get `slowMs` (the others are answered at once). Default 1: every one. */
  slowRate?: number;
  /** Only paths matching this regular expression get HTTP faults (e.g. `^/batches`). Default all. */
  routes?: string;
  /** Fraction of uploads whose connection is destroyed halfway through the body (nothing is stored). Default 0. */
  resetUploads?: number;
  /** Fraction of uploads stored, then the connection destroyed before the answer (the answer is lost). Default 0. */
  loseUploadAnswers?: number;
  /** Fraction of file downloads whose connection is destroyed halfway through the content. Default 0. */
  resetDownloads?: number;
  /** Fraction of batch lines answered with a 500 in the error file. Default 0. */
  lineFailureRate?: number;
  /** Fraction of output lines written damaged (cut in the middle of the JSON). Default 0. */
  malformedLineRate?: number;
  /** Fraction of completed lines counted in `request_counts` but left out of the output file. Default 0. */
  dropLineRate?: number;
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

type Optional = 'routes' | 'expireAfterLines' | 'tokenLimit';
const FRACTIONS = ['rate429', 'rate500', 'rate502', 'rate503', 'slowRate', 'resetUploads', 'loseUploadAnswers', 'resetDownloads', 'lineFailureRate', 'malformedLineRate', 'dropLineRate'] as const;

export const FAULT_DEFAULTS: Required<Omit<FaultOptions, Optional>> = {
  rate429: 0,
  storm429: 0,
  rate500: 0,
  rate502: 0,
  rate503: 0,
  retryAfterSeconds: 1,
  slowMs: 0,
  slowRate: 1,
  resetUploads: 0,
  loseUploadAnswers: 0,
  resetDownloads: 0,
  lineFailureRate: 0,
  malformedLineRate: 0,
  dropLineRate: 0,
  lineDelayMs: 0,
  seed: 1,
  tokenLimitAt: 'validation',
};

export type HttpFault = 429 | 500 | 502 | 503;

/** The kinds of draw, each from its own sequence; `http` keeps the seed as it is (the sequence of earlier versions). */
type Stream = 'http' | 'slow' | 'upload' | 'download' | 'line' | 'order';
const STREAM_SALT: Record<Stream, number> = { http: 0, slow: 0x5109, upload: 0x0b1d, download: 0xd0e5, line: 0x11fe, order: 0x0dd5 };

export class Faults {
  readonly options: Required<Omit<FaultOptions, Optional>> & Pick<FaultOptions, 'expireAfterLines' | 'tokenLimit'>;
  readonly #routes: RegExp | null;
  /** One generator per kind of draw, so the n-th upload (say) meets the same fate whatever else ran between. */
  readonly #states = new Map<Stream, number>();
  #stormLeft: number;

  constructor(options: FaultOptions = {}) {
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as FaultOptions;
    const { routes: _routes, ...rest } = { ...FAULT_DEFAULTS, ...given };
    this.options = rest;
    for (const key of FRACTIONS) {
      const v = this.options[key];
      if (!(v >= 0 && v <= 1)) throw optionError(`fault ${key}`, v, 'a fraction from 0 to 1');
    }
    for (const key of ['storm429', 'retryAfterSeconds', 'slowMs', 'lineDelayMs'] as const) {
      const v = this.options[key];
      if (!(Number.isFinite(v) && v >= 0)) throw optionError(`fault ${key}`, v, 'a number of 0 or more');
    }
    this.#routes = options.routes ? new RegExp(options.routes) : null;
    this.#stormLeft = this.options.storm429;
  }

  /** A number in [0, 1) from a small seeded generator (mulberry32), one sequence per `stream`. */
  random(stream: Stream = 'order'): number {
    const seed = this.options.seed >>> 0;
    const state = this.#states.get(stream) ?? ((seed ^ STREAM_SALT[stream]) >>> 0 || 1);
    let t = (state + 0x6d2b79f5) >>> 0;
    this.#states.set(stream, t);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  #draw(stream: Stream, rate: number): boolean {
    return rate > 0 && this.random(stream) < rate;
  }

  /** Whether faults apply to this route at all. */
  covers(route: string): boolean {
    return !this.#routes || this.#routes.test(route);
  }

  /** The fault for an HTTP request to `route`, if one is drawn. */
  httpFault(route: string): HttpFault | null {
    if (!this.covers(route)) return null;
    if (this.#stormLeft > 0) {
      this.#stormLeft--;
      return 429;
    }
    if (this.#draw('http', this.options.rate429)) return 429;
    if (this.#draw('http', this.options.rate500)) return 500;
    if (this.#draw('http', this.options.rate502)) return 502;
    if (this.#draw('http', this.options.rate503)) return 503;
    return null;
  }

  /** The delay before answering a request to `route`, if one is drawn. */
  slowness(route: string): number {
    if (this.options.slowMs <= 0 || !this.covers(route)) return 0;
    return this.options.slowRate >= 1 || this.#draw('slow', this.options.slowRate) ? this.options.slowMs : 0;
  }

  resetUpload(): boolean {
    return this.#draw('upload', this.options.resetUploads);
  }

  loseUploadAnswer(): boolean {
    return this.#draw('upload', this.options.loseUploadAnswers);
  }

  resetDownload(): boolean {
    return this.#draw('download', this.options.resetDownloads);
  }

  lineFails(): boolean {
    return this.#draw('line', this.options.lineFailureRate);
  }

  /** What becomes of a completed output line: written, written damaged, or left out. */
  outputLine(): 'write' | 'malformed' | 'drop' {
    if (this.#draw('line', this.options.malformedLineRate)) return 'malformed';
    if (this.#draw('line', this.options.dropLineRate)) return 'drop';
    return 'write';
  }
}
