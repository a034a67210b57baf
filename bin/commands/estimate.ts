import type { Argv, CommandModule } from 'yargs';
import { EXIT } from '../../src/errors.js';
import { buildOptionsFromArgs, datasetFlags, type DatasetArgs } from '../build-flags.js';
import { costFlags, costOptionsFromArgs, formatEstimate, formatUsd, type CostArgs } from '../cost-flags.js';
import { runCommand } from '../run-command.js';
import { formatCount } from '../format.js';
import { say, print, printJson } from '../terminal.js';

type EstimateArgs = DatasetArgs & CostArgs & { json: boolean };

export const estimateCommand: CommandModule<object, EstimateArgs> = {
  command: 'estimate',
  describe: 'Requests, bytes, tokens and cost of a dataset per shard and in total, before spending anything (nothing written or uploaded)',
  builder: (y: Argv) =>
    y
      .options({
        ...datasetFlags,
        rejects: { type: 'string', describe: 'Also list the rows that could not become requests in this file (default: counted only)' },
        provider: { choices: ['local', 'azure', 'openai'], default: 'local', describe: 'Where the batches would go; sets the line url and the request cap per shard' },
        ...costFlags,
        json: { type: 'boolean', default: false, describe: 'One JSON object on stdout, for scripts' },
      })
      .example('$0 estimate --dataset data.jsonl --prompt armeme_explanation_arabic --model gpt-4o-mini', 'the table on stdout')
      .example('$0 estimate --dataset data.jsonl --prompt p.txt --provider azure --model my-deployment --token-model gpt-4o --expected-output-tokens 200', 'an Azure deployment priced as gpt-4o, ~150 words out') as unknown as Argv<EstimateArgs>,
  handler: (args) =>
    runCommand(async (signal) => {
      const { estimate } = await import('../../src/pipeline/estimate.js');
      const { build, estimate: e } = await estimate({ ...(await buildOptionsFromArgs(args)), ...(await costOptionsFromArgs(args)), signal });
      if (args.json) {
        printJson(`${JSON.stringify({ rows: build.rows, rejected: build.rejects.total, rejects_by_code: build.rejects.byCode, ...e })}\n`);
      } else {
        print(formatEstimate(e));
        if (!args.quiet) {
          const rejected = build.rejects.total ? ` + ${formatCount(build.rejects.total)} rejected (${Object.entries(build.rejects.byCode).map(([c, n]) => `${c} ${n}`).join(', ')})` : '';
          say(`estimate: ${formatCount(build.rows)} rows = ${formatCount(build.requests)} requests${rejected}; ~${formatUsd(e.cost)}\n`);
        }
      }
      return args.strict && build.rejects.total > 0 ? EXIT.REJECTS : EXIT.OK;
    }),
};
