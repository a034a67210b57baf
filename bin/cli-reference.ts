import { cli, COMMAND_NAMES } from './cli.js';

/** Help is rendered at this width for the reference, whatever the terminal. */
const REFERENCE_WIDTH = 100;

/** One command's `--help` text, as the CLI prints it. */
export async function helpText(command: string | null): Promise<string> {
  let text = '';
  const argv = command === null ? ['--help'] : [command, '--help'];
  const parser = cli(argv, { width: REFERENCE_WIDTH, exitProcess: false });
  await parser.parseAsync(argv, {}, (_err, _args, output) => {
    text = output;
  });
  return text.trimEnd();
}

/**
 * docs/cli.md: every command's `--help`, generated from the yargs definitions (`npm run docs`), so
 * the reference cannot drift from the CLI: a test compares the file with this function's output.
 */
export async function cliReference(): Promise<string> {
  const parts = [
    '# batch-explain command reference',
    '',
    '<!-- Generated from the yargs definitions by `npm run docs` (scripts/gen-cli-docs.mjs); do not edit by hand. -->',
    '',
    'Each section is the output of `batch-explain <command> --help`. The README and the pages of docs/ explain the commands',
    'in context; every flag also answers to its snake_case spelling.',
    '',
    ...[...COMMAND_NAMES, 'completion'].map((c) => `- [\`${c}\`](#batch-explain-${c})`),
    '',
    '## batch-explain',
    '',
    '```text',
    await helpText(null),
    '```',
  ];
  for (const command of COMMAND_NAMES) {
    parts.push('', `## batch-explain ${command}`, '', '```text', await helpText(command), '```');
  }
  // Its output is the script itself, for the shell in $SHELL: described, not printed.
  parts.push(
    '',
    '## batch-explain completion',
    '',
    'Prints a completion script for the shell in `$SHELL` (bash or zsh): commands and each command\'s flags',
    'complete with Tab.',
    '',
    '```sh',
    'batch-explain completion >> ~/.bashrc    # or ~/.zshrc; then open a new shell',
    '```',
  );
  return `${parts.join('\n')}\n`;
}
