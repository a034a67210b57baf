import type { Argv, CommandModule } from 'yargs';
import { EXIT } from '../../src/errors.js';
import type { MergeSummary } from '../../src/pipeline/merge.js';
import { mergeInputs } from '../job-args.js';
import { bytesFlag, quietFlag } from '../flags.js';
import { formatCount } from '../format.js';
import { runCommand } from '../run-command.js';
import { progressFlags, progressFromArgs } from '../progress.js';
import { jobLayout, mappingFlags, type MappingArgs } from '../mapping-flags.js';
import { mergeSample } from '../progress-views.js';
import { say } from '../terminal.js';

export const mergeOutputFlags = {
  errors: { type: 'string', describe: 'Every row without an explanation and why (default <output>.errors.jsonl; merge-errors.jsonl with stdout)' },
  field: { type: 'string', default: 'generated_explanation', describe: 'Field added to each row (--field explanation for the example output of the original README)' },
  'answer-field': { type: 'string', default: 'explanation', describe: "JSON field holding the explanation in the model's answer" },
  'sort-memory': bytesFlag('sort-memory', 'Working memory of the merge: the arena of its external sorts (one at a time); more spills fewer runs to --tmp-dir', 16 * 1024 * 1024),
  'parse-threads': { type: 'number', describe: 'Threads parsing result lines (default 2 for 32 MiB of results and more, else 0: this thread); each costs ~10 MB' },
  'tmp-dir': { type: 'string', describe: 'Folder for sort runs (default the system temporary folder)' },
} as const;

type MergeArgs = {
  dataset: string;
  results?: string[];
  output: string;
  errors?: string;
  rejects?: string;
  manifest?: string;
  field: string;
  'answer-field': string;
  'sort-memory': number;
  'tmp-dir'?: string;
  'parse-threads'?: number;
  strict: boolean;
  quiet: boolean;
  'progress-interval': number;
} & MappingArgs;

export function formatMergeSummary(s: MergeSummary): string {
  const without = s.rows - s.explained;
  const lines = [`merge: ${formatCount(s.rows)} rows = ${formatCount(s.explained)} explained + ${formatCount(without)} without an explanation (from ${s.sources} result files)`];
  if (without > 0) {
    lines.push(`  without, by reason: ${Object.entries(s.byReason).sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r} ${formatCount(n)}`).join(', ')}`);
    lines.push(`  errors file: ${s.errorsPath}`);
  }
  const notJson = s.byReason.not_json ?? 0;
  if (notJson) lines.push(`  ${formatCount(notJson)} ${notJson === 1 ? 'line is' : 'lines are'} not JSON objects: left out of the output (which stays JSONL); their text is in the errors file (not_json)`);
  if (s.duplicateIdRows) lines.push(`  ${formatCount(s.duplicateIdRows)} rows share an id with another row: left without an explanation (duplicate_id)`);
  if (s.extraResults) lines.push(`  ${formatCount(s.extraResults)} extra result lines for ids already answered (resubmissions or repeats): a success wins, then the newest`);
  if (s.unmatchedResults) lines.push(`  ${formatCount(s.unmatchedResults)} result lines match no dataset row (another dataset's results?)`);
  if (s.badResultLines) lines.push(`  ${formatCount(s.badResultLines)} lines of result files are not result lines (damaged downloads?); their rows count as no_result`);
  if (s.output !== '-') lines.push(`  output: ${s.output}`);
  return `${lines.join('\n')}\n`;
}

export const mergeCommand: CommandModule<object, MergeArgs> = {
  command: 'merge',
  describe: 'Fold result files back into the dataset, in its order, with an explanation field on every row',
  builder: (y: Argv) =>
    y
      .options({
        dataset: { type: 'string', demandOption: true, describe: 'The dataset file' },
        results: { type: 'string', array: true, describe: "Result files or folders (--results_dir also works); default: the job's downloads (the one job in ./batches…, or --manifest's), else ./results" },
        output: { type: 'string', default: '-', describe: 'The merged dataset: a file, or - for stdout; its extension chooses the format: .jsonl, .json, .csv, .tsv or .parquet (docs/datasets.md)' },
        rejects: { type: 'string', describe: "The build's rejects file, to say why rows were never sent (default: the job's)" },
        manifest: { type: 'string', describe: "The job: only its batches' results are read (newest wins), batches still running count as pending, and the dataset's layout" },
        ...mergeOutputFlags,
        ...mappingFlags,
        strict: { type: 'boolean', default: false, describe: 'Exit 3 if any row has no explanation' },
        quiet: quietFlag,
        ...progressFlags,
      })
      .example('$0 merge --dataset data.jsonl --results results --output merged.jsonl', '')
      .example('$0 merge --dataset labels.csv --manifest batches/manifest.jsonl --output merged.csv', "a CSV dataset: the manifest knows its layout; the output is the CSV with one more column")
      .example('$0 merge --dataset data.jsonl --results_dir ./results --output ./dataset_with_explanations.jsonl', "the original scripts' flags") as unknown as Argv<MergeArgs>,
  handler: (args) =>
    runCommand(async (signal) => {
      const { mergeDataset } = await import('../../src/pipeline/merge-layout.js');
      const { results, manifest, rejects } = await mergeInputs(args);
      const mapping = jobLayout(args, manifest?.state.run?.mapping);
      const display = progressFromArgs(args, 'merge');
      let step: string | null = null;
      const startedAt = Date.now();
      display.start(() => mergeSample(step, startedAt));
      try {
        const summary = await mergeDataset({
          dataset: args.dataset,
          ...(mapping ? { mapping } : {}),
          results,
          output: args.output,
          ...(args.errors ? { errorsPath: args.errors } : {}),
          ...(rejects ? { rejectsPath: rejects } : {}),
          ...(manifest ? { manifest } : {}),
          field: args.field,
          answerField: args['answer-field'],
          sortMemory: args['sort-memory'],
          ...(args['tmp-dir'] ? { tmpDir: args['tmp-dir'] } : {}),
          ...(args['parse-threads'] === undefined ? {} : { parseThreads: args['parse-threads'] }),
          onStep: (next) => void (step = next),
          signal,
        });
        display.stop();
        if (!args.quiet) say(formatMergeSummary(summary));
        return args.strict && summary.explained < summary.rows ? EXIT.REJECTS : EXIT.OK;
      } finally {
        display.stop();
        await manifest?.close();
      }
    }),
};

/** The merge options {@link mergeOutputFlags} set. */
export function mergeOutputOptions(args: Pick<MergeArgs, 'field' | 'answer-field' | 'sort-memory' | 'tmp-dir' | 'parse-threads'>) {
  return {
    field: args.field,
    answerField: args['answer-field'],
    sortMemory: args['sort-memory'],
    ...(args['tmp-dir'] ? { tmpDir: args['tmp-dir'] } : {}),
    ...(args['parse-threads'] === undefined ? {} : { parseThreads: args['parse-threads'] }),
  };
}
