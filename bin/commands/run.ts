import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { BatchExplainError, EXIT } from '../../src/errors.js';
import { datasetFlags } from '../build-flags.js';
import { layoutGiven } from '../mapping-flags.js';
import { hostOf, providerFlags } from '../provider-flags.js';
import { formatCount } from '../format.js';
import { JOB_RESUME_HINT, runCommand } from '../run-command.js';
import { formatBuildSummary } from './build.js';
import { formatMergeSummary, mergeOutputFlags } from './merge.js';
import { deleteInputFlag, openJob, submitFlags, type SubmitArgs } from './submit.js';
import { directFlags } from '../direct-flags.js';
import { runDirectHandler, type RunDirectArgs } from './direct.js';
import type { RunArgs } from './run-args.js';
import type { BatchState } from '../../src/batch-api/manifest.js';
import { batchesSample, mergeSample } from '../progress-views.js';
import { shrinkHeap } from '../heap.js';

type ResubmitArgs = SubmitArgs & { from?: string; ids?: string; reasons?: string[] };

export const runCommandModule: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'The whole job: submit, wait, retrieve, merge (and resubmit failures up to --max-rounds times); resumable',
  builder: (y: Argv) =>
    y
      .options({
        ...datasetFlags,
        ...providerFlags,
        provider: { ...providerFlags.provider, choices: [...providerFlags.provider.choices, 'direct'], describe: `${providerFlags.provider.describe}, or direct: each request to --base-url/chat/completions at once (vLLM, Ollama...)` },
        ...submitFlags,
        ...mergeOutputFlags,
        ...directFlags,
        'results-dir': { type: 'string', describe: "Folder for downloaded results (default: the job's folder's results/)" },
        output: { type: 'string', default: 'dataset_with_explanations.jsonl', describe: 'The merged dataset (- for stdout); its extension chooses the format: .jsonl, .json, .csv, .tsv or .parquet (docs/datasets.md)' },
        'max-rounds': { type: 'number', default: 0, describe: 'Resubmit rows that failed for a reason another try may fix (API errors, expiry), up to this many times' },
        'expired-rounds': { type: 'number', default: 3, describe: "Resubmit rows whose batch expired (OpenAI's 24 h window: never answered, not billed) up to this many times, whatever --max-rounds says" },
        ...deleteInputFlag,
      })
      .example('$0 run --dataset fixtures/memes.jsonl --prompt armeme_explanation_english --output merged.jsonl', 'end to end with the local server')
      .example('$0 run --provider direct --base-url http://127.0.0.1:8000/v1 --model Qwen/Qwen2.5-VL-7B-Instruct --dataset data.jsonl --prompt p.txt', 'no Batch API: straight to a vLLM server') as unknown as Argv<RunArgs>,
  handler: (args) =>
    (args.provider as string) === 'direct' ? runDirectHandler(args as unknown as RunDirectArgs) : runCommand(async (signal) => {
      const { run } = await import('../../src/pipeline/run.js');
      await checkOutputFolder(args.output);
      const { log, provider, options, display, uploads, submitSample } = await openJob(args, 'run');
      // What the display shows follows the phase: the build and uploads, the batches, the merge's steps.
      let phase = 'submit';
      let batches: readonly BatchState[] = [];
      let mergeStep: string | null = null;
      const mergeStarted = { at: Date.now() };
      // Set while merging: the heap the build grew given back (bin/heap.ts).
      let unshrink = (): void => {};
      display.start(() => (phase.startsWith('submit') || phase.startsWith('resubmit') ? submitSample() : phase === 'retrieve' ? batchesSample(batches) : mergeSample(mergeStep, mergeStarted.at)));
      try {
        let last = '';
        const summary = await run({
          ...options,
          resultsDir: args['results-dir'] ?? path.join(options.outDir, 'results'),
          output: args.output,
          ...(args.errors ? { errorsPath: args.errors } : {}),
          field: args.field,
          answerField: args['answer-field'],
          sortMemory: args['sort-memory'],
          ...(args['tmp-dir'] ? { tmpDir: args['tmp-dir'] } : {}),
          ...(args['parse-threads'] === undefined ? {} : { parseThreads: args['parse-threads'] }),
          maxRounds: args['max-rounds'],
          expiredRounds: positiveOrZero('--expired-rounds', args['expired-rounds']),
          deleteInputFiles: args['delete-input-files'],
          signal,
          onPhase: (next) => {
            phase = next;
            unshrink();
            unshrink = () => {};
            if (next === 'merge') {
              mergeStarted.at = Date.now();
              unshrink = shrinkHeap();
            }
            log(`run: ${next}`);
          },
          onUpload: (e) => {
            if (e.type === 'created' || e.type === 'found' || e.type === 'skipped') uploads.done++;
            // A retry is said each time: an unreachable host must not look like a slow upload.
            else if (e.type === 'retry') log(`run: shard ${e.shard.index}: ${hostOf(provider.client.baseURL)}: ${e.detail}`);
            else if (e.type === 'processing') log(`run: shard ${e.shard.index}: waiting for the provider to process its upload (${e.detail})`);
          },
          onRetrieveProgress: (latest) => {
            batches = latest;
            if (display.live) return;
            const line = `run: batches ${batchesSample(latest).text}`;
            if (line !== last) log(line);
            last = line;
          },
          onMergeStep: (step) => void (mergeStep = step),
        });
        display.stop();
        if (summary.submit.build) log(formatBuildSummary(summary.submit.build).trimEnd());
        for (const w of summary.warnings) log(`run: warning: ${w}`);
        log(formatMergeSummary(summary.merge).trimEnd());
        if (summary.rounds > 0) log(`run: ${summary.rounds} resubmission round(s)`);
        // Where this job's files are: with several jobs here, the one the later commands must be told.
        log(`run: the job's files are in ${options.outDir} (manifest ${options.manifestPath})`);
        return args.strict && summary.merge.explained < summary.merge.rows ? EXIT.REJECTS : EXIT.OK;
      } catch (err) {
        display.stop();
        throw err;
      } finally {
        unshrink();
        display.stop();
        await provider.close();
      }
    }, { resumeHint: JOB_RESUME_HINT }),
};

function positiveOrZero(flag: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new BatchExplainError('E_OPTION', `${flag}: expected a whole number of 0 or more, got ${value}`);
  return value;
}

/** The merged output's folder must exist: found missing after hours of batches, it would fail the job at the end. */
async function checkOutputFolder(output: string): Promise<void> {
  if (output === '-') return;
  const folder = path.dirname(path.resolve(output));
  const isFolder = await stat(folder).then((s) => s.isDirectory(), () => false);
  if (!isFolder) throw new BatchExplainError('E_OPTION', `--output ${output}: the folder ${path.dirname(output)} does not exist`);
  if (await stat(output).then((s) => s.isDirectory(), () => false)) throw new BatchExplainError('E_OPTION', `--output ${output}: is a folder; name the merged file`);
}

export const resubmitCommand: CommandModule<object, ResubmitArgs> = {
  command: 'resubmit',
  describe: "Submit again the rows without an explanation (from merge's errors file or merged output), into the same job",
  builder: (y: Argv) =>
    y
      .options({
        ...datasetFlags,
        ...providerFlags,
        ...submitFlags,
        from: { type: 'string', describe: "merge's errors file, or the merged output (rows whose field is null)" },
        ids: { type: 'string', describe: "Or an ids file: the rows to send again (report --flagged, the viewer's export)" },
        reasons: { type: 'string', array: true, describe: 'Only rows that failed for these reasons (default: all but not_sent, duplicate_id, pending)' },
      })
      .check((a) => (a.from === undefined) !== (a.ids === undefined) || 'Give exactly one of --from and --ids')
      .example('$0 resubmit --dataset data.jsonl --prompt p.txt --from merged.jsonl.errors.jsonl', 'then retrieve --wait and merge again')
      .example('$0 resubmit --dataset data.jsonl --prompt p.txt --ids flagged.jsonl', 'the rows report --flagged listed') as unknown as Argv<ResubmitArgs>,
  handler: (args) =>
    runCommand(async (signal) => {
      const { resubmit } = await import('../../src/pipeline/resubmit.js');
      const { log, provider, options, display, submitSample } = await openJob(args, 'resubmit');
      display.start(submitSample);
      try {
        const { mapping: _m, format: _f, ...job } = options;
        const r = await resubmit({
          // Without layout flags, the layout the job recorded.
          ...(layoutGiven(args) ? options : job),
          ...(args.from === undefined ? {} : { from: args.from }),
          ...(args.ids === undefined ? {} : { ids: args.ids }),
          ...(args.reasons?.length ? { reasons: args.reasons } : {}),
          signal,
        });
        display.stop();
        if (r.idsNotFound) log(`resubmit: warning: ${formatCount(r.idsNotFound)} ids of ${args.ids} are on no row of ${args.dataset}`);
        if (r.rows === 0) log('resubmit: no row to send again');
        else {
          const manifest = r.submitted!.manifestPath;
          log(`resubmit: round ${r.round}: ${formatCount(r.rows)} rows → ${r.submitted!.submitted.length} shard(s); next: batch-explain retrieve --wait --manifest ${manifest}, then batch-explain merge --dataset ${args.dataset} --manifest ${manifest} --output dataset_with_explanations${mergedExtension(args.dataset)}`);
        }
        return EXIT.OK;
      } finally {
        display.stop();
        await provider.close();
      }
    }, { resumeHint: JOB_RESUME_HINT }),
};

/** The extension of a merged output that keeps the dataset's layout: its own for CSV, TSV, JSON and Parquet, else `.jsonl`. */
function mergedExtension(dataset: string): string {
  const ext = path.extname(dataset).toLowerCase();
  return ['.csv', '.tsv', '.json', '.parquet'].includes(ext) ? ext : '.jsonl';
}
