import yargs, { type Argv } from 'yargs';
import { buildCommand } from './commands/build.js';
import { estimateCommand } from './commands/estimate.js';
import { serveCommand } from './commands/serve.js';
import { mergeCommand } from './commands/merge.js';
import { reportCommand } from './commands/report.js';
import { viewCommand } from './commands/view.js';
import { resubmitCommand, runCommandModule } from './commands/run.js';
import { sendCommand } from './commands/direct.js';
import { submitCommand } from './commands/submit.js';
import { cancelCommand, retrieveCommand, statusCommand } from './commands/track.js';
import { EXIT } from '../src/errors.js';
import { packageVersion } from '../src/core/io/package-root.js';
import { say } from './terminal.js';

export interface CliOptions {
  /** Help text width. Default the terminal's, at most 110 (100 when stderr is not a terminal). */
  width?: number;
  /** Exit on `--help`, `--version` and flag errors, as the command does. Default true; the docs generator says false. */
  exitProcess?: boolean;
}

/** The command line parser: every command, its flags, help and completion. Parsing is left to the caller. */
export function cli(argv: string[], options: CliOptions = {}): Argv {
  const exitProcess = options.exitProcess ?? true;
  const parser = yargs(argv)
    .scriptName('batch-explain')
    .usage('$0 <command> [options]\n\nExplanations for labelled multimodal datasets through the OpenAI and Azure OpenAI Batch API.')
    .command(buildCommand)
    .command(estimateCommand)
    .command(submitCommand)
    .command(statusCommand)
    .command(retrieveCommand)
    .command(cancelCommand)
    .command(mergeCommand)
    .command(resubmitCommand)
    .command(runCommandModule)
    .command(reportCommand)
    .command(viewCommand)
    .command(sendCommand)
    .command(serveCommand)
    .completion('completion', 'Print a bash/zsh completion script: batch-explain completion >> ~/.bashrc (or ~/.zshrc)')
    .demandCommand(1, 'Name a command; see --help')
    .epilogue('Every flag also answers to its snake_case spelling (--output_dir, --batch_file_size_limit), as in the original scripts. Reference: docs/cli.md.')
    .strict()
    .exitProcess(exitProcess)
    .fail((msg, err) => {
      if (!exitProcess) throw err ?? new Error(msg);
      // Flag errors (unknown flag, bad value, failed check): one line, exit 2, no stack.
      say(`batch-explain: ${msg ?? err?.message}\nRun with --help for the options.\n`);
      process.exit(EXIT.USAGE);
    })
    .help()
    .alias('h', 'help')
    // Given, not looked up: yargs would take the package.json nearest the working folder (a user's project's).
    .version(packageVersion())
    .wrap(options.width ?? Math.min(110, process.stderr.columns || 100));
  skipHelpCache(parser);
  return parser;
}

/**
 * Before it runs a command, yargs renders the command's whole help and keeps it, for a failure
 * to show (`cacheHelpMessage`, yargs 18). Here a failure prints one line (`.fail` above), and
 * `--help` renders the help when asked. Skipping that render takes ~0.1 s of CPU off the start
 * of every command (the widths of ~60 flag descriptions, wrapped; measured with --cpu-prof).
 * Through yargs' internal methods: a yargs without them keeps its cache.
 */
function skipHelpCache(parser: Argv): void {
  type Internal = { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } };
  const usage = (parser as unknown as Internal).getInternalMethods?.().getUsageInstance?.();
  if (typeof usage?.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

/** The commands with flags of their own, in the order `--help` lists them (for the generated reference). */
export const COMMAND_NAMES = ['build', 'estimate', 'submit', 'status', 'retrieve', 'cancel', 'merge', 'resubmit', 'run', 'report', 'view', 'send', 'serve'] as const;
