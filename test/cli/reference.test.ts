import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { cliReference, helpText } from '../../bin/cli-reference.js';
import { COMMAND_NAMES } from '../../bin/cli.js';
import { runCli } from '../helpers/cli.js';

describe('CLI help, reference and completion', () => {
  it('docs/cli.md is what the yargs definitions generate (run `npm run docs` after changing a flag)', async () => {
    const committed = await readFile(new URL('../../docs/cli.md', import.meta.url), 'utf8');
    expect(committed, 'docs/cli.md is stale: run `npm run docs`').toBe(await cliReference());
  });

  it.each(COMMAND_NAMES)('%s --help shows an example', async (command) => {
    const help = await helpText(command);
    expect(help).toMatch(new RegExp(`^batch-explain ${command}`));
    expect(help).toMatch(/\nExamples:\n\s+batch-explain /);
  });

  it('completion prints a shell script, and the CLI answers its completion queries', async () => {
    const script = await runCli(['completion']);
    expect(script.code).toBe(0);
    expect(script.stdout).toMatch(/--get-yargs-completions/);
    const commands = await runCli(['--get-yargs-completions', 'batch-explain', '']);
    expect(commands.stdout.split('\n')).toEqual(expect.arrayContaining(['build', 'run', 'merge', 'serve']));
    const flags = await runCli(['--get-yargs-completions', 'batch-explain', 'retrieve', '--']);
    expect(flags.stdout.split('\n')).toEqual(expect.arrayContaining(['--wait', '--poll-interval']));
    expect(flags.stdout).not.toMatch(/--dataset/);
  });
});
