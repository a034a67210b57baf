#!/usr/bin/env -S node --max-semi-space-size=8
// --max-semi-space-size=8: V8 otherwise grows the young generation to 16 MB semi-spaces under the
// build's allocation rate (base64 slices), and peak RSS keeps climbing for the first ~20,000 rows;
// with 8 MB it is flat (bench/RESULTS.md). Libraries embedding the stages can pass the same flag.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { normalizeFlagNames } from './flags.js';
import { buildCommand } from './commands/build.js';
import { serveCommand } from './commands/serve.js';
import { mergeCommand } from './commands/merge.js';
import { reportCommand } from './commands/report.js';
import { viewCommand } from './commands/view.js';
import { resubmitCommand, runCommandModule } from './commands/run.js';
import { submitCommand } from './commands/submit.js';
import { cancelCommand, retrieveCommand, statusCommand } from './commands/track.js';
import { EXIT } from '../src/errors.js';

await yargs(normalizeFlagNames(hideBin(process.argv)))
  .scriptName('batch-explain')
  .usage('$0 <command> [options]\n\nExplanations for labelled multimodal datasets through the OpenAI and Azure OpenAI Batch API.')
  .command(buildCommand)
  .command(submitCommand)
  .command(statusCommand)
  .command(retrieveCommand)
  .command(cancelCommand)
  .command(mergeCommand)
  .command(resubmitCommand)
  .command(runCommandModule)
  .command(reportCommand)
  .command(viewCommand)
  .command(serveCommand)
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
