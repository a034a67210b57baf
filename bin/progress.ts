import { createRequire } from 'node:module';
import type CliProgress from 'cli-progress';
import { escapeControls } from '../src/core/io/terminal-text.js';

/** What a progress display shows at one moment: a line of figures, and how far along when known. */
export interface ProgressSample {
  text: string;
  /** Done so far, from 0 to 1, when the total is known (a bar and an ETA are shown). */
  fraction?: number;
}

export interface ProgressOptions {
  /** Nothing at all on stderr but errors. */
  quiet: boolean;
  /** Named at the start of every line, e.g. `build`. */
  label: string;
  /** Default stderr. A TTY gets a live bar; anything else plain lines. */
  stream?: NodeJS.WriteStream;
  /** Plain lines (not a TTY): one every this many ms. Default 10 s. */
  intervalMs?: number;
}

export interface Progress {
  /** A live bar on a terminal (commands then skip the change lines they print otherwise). */
  readonly live: boolean;
  /** Shows `sample()` from now on: redrawn a few times a second on a TTY, a line every `intervalMs` otherwise. */
  start(sample: () => ProgressSample): void;
  /** A log line: above the bar on a TTY, as it is otherwise. */
  log(line: string): void;
  /** Removes the bar (a TTY keeps nothing of it) and stops the timer. Safe to call twice. */
  stop(): void;
}

/** 5 redraws a second: smooth enough, and cheap beside the work. */
const REDRAW_MS = 200;
/** cli-progress counts to this when a fraction is given. */
const SCALE = 10_000;

/**
 * Progress on stderr for long work, as users of a job that runs for days expect it: on a TTY a
 * live bar (cli-progress) with the figures, percent and ETA when the total is known; elsewhere
 * (a log file, a pipe, a cluster job) a plain line every `intervalMs`, no escape codes; with
 * `quiet`, nothing. Timers are unref'd: a display never keeps the process alive.
 */
export function progress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.quiet) return { live: false, start() {}, log() {}, stop() {} };
  if (stream.isTTY) return ttyProgress(options.label, stream);
  return plainProgress(options.label, stream, options.intervalMs ?? 10_000);
}

function ttyProgress(label: string, stream: NodeJS.WriteStream): Progress {
  // Loaded only for a terminal: logs and pipes never need it.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof CliProgress;
  let sample: (() => ProgressSample) | null = null;
  let timer: NodeJS.Timeout | null = null;
  const bars = new cliProgress.MultiBar(
    {
      stream,
      hideCursor: true,
      clearOnComplete: true,
      fps: 1000 / REDRAW_MS,
      etaBuffer: 50,
      format: (options, params, payload: { text: string; known: boolean }) => {
        const text = escapeControls(payload.text);
        if (!payload.known) return `${label} | ${text}`;
        const bar = cliProgress.Format.BarFormat(params.progress, options);
        const eta = Number.isFinite(params.eta) && params.value > 0 ? ` | ETA ${formatDuration(params.eta)}` : '';
        return `${label} ${bar} ${Math.floor(params.progress * 100)}% | ${text}${eta}`;
      },
    },
    cliProgress.Presets.shades_classic,
  );
  let bar: CliProgress.SingleBar | null = null;
  const draw = () => {
    if (!sample || !bar) return;
    const s = sample();
    bar.update(s.fraction === undefined ? 0 : Math.round(Math.min(1, Math.max(0, s.fraction)) * SCALE), { text: s.text, known: s.fraction !== undefined });
  };
  return {
    live: true,
    start(next) {
      sample = next;
      bar ??= bars.create(SCALE, 0, { text: '', known: false });
      draw();
      // Drawn now, not at the bar's first tick: short work shows at least one frame.
      bars.update();
      timer ??= setInterval(draw, REDRAW_MS).unref();
    },
    log(line) {
      if (bar) bars.log(`${escapeControls(line, true)}\n`);
      else stream.write(`${escapeControls(line, true)}\n`);
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
      if (bar) bars.stop();
      bar = null;
    },
  };
}

function plainProgress(label: string, stream: NodeJS.WriteStream, intervalMs: number): Progress {
  let timer: NodeJS.Timeout | null = null;
  let startedAt = 0;
  return {
    live: false,
    start(sample) {
      startedAt = Date.now();
      timer ??= setInterval(() => {
        const s = sample();
        let line = `${label}: ${s.text}`;
        if (s.fraction !== undefined && s.fraction > 0) {
          const elapsed = (Date.now() - startedAt) / 1000;
          line += ` | ${Math.floor(Math.min(1, s.fraction) * 100)}%, ETA ${formatDuration((elapsed * (1 - s.fraction)) / s.fraction)}`;
        }
        stream.write(`${escapeControls(line, true)}\n`);
      }, intervalMs).unref();
    },
    log(line) {
      stream.write(`${escapeControls(line, true)}\n`);
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}

/** 42s, 3m 05s, 2h 07m. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Per second, from a count and the ms since `since`. */
export function rate(count: number, since: number): number {
  const seconds = (Date.now() - since) / 1000;
  return seconds > 0 ? count / seconds : 0;
}

/** The flag of the plain lines' interval (commands with long work). */
export const progressFlags = {
  'progress-interval': { type: 'number', default: 10, describe: 'Seconds between progress lines when stderr is not a terminal (a terminal gets a live bar)' },
} as const;

export type ProgressArgs = { quiet: boolean; 'progress-interval': number };

/** A display for a command, from its flags. */
export function progressFromArgs(args: ProgressArgs, label: string): Progress {
  const seconds = args['progress-interval'];
  return progress({ quiet: args.quiet, label, intervalMs: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 10_000 });
}
