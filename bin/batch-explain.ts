#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { normalizeFlagNames } from './flags.js';
import { buildCommand } from './commands/build.js';
import { EXIT } from '../src/errors.js';

await yargs(normalizeFlagNames(hideBin(process.argv)))
  .scriptName('batch-explain')
  .usage('$0 <command> [options]\n\nExplanations for labelled multimodal datasets through the OpenAI and Azure OpenAI Batch API.')
  .command(buildCommand)
  .demandCommand(1, 'Name a command; see --help')
  .epilogue('Every flag also answers to its snake_case spelling (--output_dir, --batch_file_size_limit), as in the original scripts.')
  .strict()
  .fail((msg, err) => {
    // Flag errors (unknown flag, bad value, failed check): one line, exit 2, no stack.
    process.stderr.write(`batch-explain: ${msg ?? err?.message}\nRun with --help for the options.\n`);
    process.exit(EXIT.USAGE);
  })
  .help()
  .alias('h', 'help')
  .version()
  .wrap(Math.min(110, process.stderr.columns || 100))
  .parseAsync();
