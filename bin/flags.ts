import type { Options } from 'yargs';
import { parseByteSize } from '../src/core/flow/options.js';

/** The original scripts' flag names whose kebab-case name here is a different word. */
const ORIGINAL_NAMES: Record<string, string> = {
  output_dir: 'out-dir',
  batch_file_size_limit: 'max-bytes',
  image_size_limit: 'max-image-bytes',
  results_dir: 'results',
};

/**
 * Rewrites snake_case flags to their kebab-case names before yargs sees them, so the original
 * scripts' command lines (`--output_dir`, `--tracking_file`) keep working and `--help` lists
 * each flag once. Only flag names change: values and everything after `--` stay as given.
 * `--flag -` becomes `--flag=-`, so `-` (stdin/stdout) reaches the flag as its value.
 */
export function normalizeFlagNames(argv: readonly string[]): string[] {
  const out: string[] = [];
  let passthrough = false;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (passthrough || !token.startsWith('--') || token === '--') {
      passthrough ||= token === '--';
      out.push(token);
      continue;
    }
    const eq = token.indexOf('=');
    const name = token.slice(2, eq === -1 ? undefined : eq);
    const renamed = ORIGINAL_NAMES[name] ?? name.replaceAll('_', '-');
    // `--dataset -` means stdin, but yargs would read the lone `-` as a flag: join the two.
    const value = eq === -1 ? (argv[i + 1] === '-' ? (i++, '=-') : '') : token.slice(eq);
    out.push(`--${renamed}${value}`);
  }
  return out;
}

/** A byte-size flag: `180000000`, `180MB`, `180MiB`. */
export function bytesFlag(name: string, describe: string, fallback?: number): Options {
  return {
    type: 'string',
    describe,
    ...(fallback === undefined ? {} : { default: String(fallback) }),
    coerce: (v: unknown) => (v === undefined ? undefined : parseByteSize(`--${name}`, v)),
  };
}

export const quietFlag: Options = { type: 'boolean', default: false, describe: 'Print nothing on stderr but errors' };
