import { type MergeOptions, type MergeSummary } from './merge.js';
import { mergeDataset } from './merge-layout.js';
import { jobMapping } from '../core/dataset/mapping.js';
import { formatOf } from '../core/dataset/formats.js';
import { defaultErrorsPath } from '../core/join/errors-path.js';
import { sendDataset, type DirectOptions, type DirectSummary } from './direct.js';
import type { BuildOptions } from './build.js';

export interface RunDirectOptions extends DirectOptions, Pick<MergeOptions, 'field' | 'answerField' | 'sortMemory' | 'tmpDir' | 'parseThreads'> {
  /** The dataset and how to turn its rows into requests (the build's options). */
  build: Omit<BuildOptions, 'outDir' | 'output'>;
  /** The merged dataset: a file, or `-` for stdout. */
  output: string;
  /** Default `<output>.errors.jsonl`. */
  errorsPath?: string;
  /** Passes more over the rows that failed, in this run. Default 0. */
  maxRounds?: number;
  /** Told as each phase starts, for logs. */
  onPhase?: (phase: string) => void;
}

export interface RunDirectSummary {
  /** One per pass: the first, then one per round. */
  sends: DirectSummary[];
  merge: MergeSummary;
}

/**
 * `run --provider direct`: the dataset's requests sent straight to an OpenAI-compatible
 * `/chat/completions` (see {@link sendDataset}), then, up to `maxRounds` times, the rows that
 * failed sent again, then `merge` over the results folder, as after a Batch API job. Run again
 * after a crash, it sends only the rows without a success and merges everything.
 */
export async function runDirect(options: RunDirectOptions): Promise<RunDirectSummary> {
  const { output, errorsPath, maxRounds = 0, onPhase, field, answerField, sortMemory, tmpDir, parseThreads, ...send } = options;
  const sends: DirectSummary[] = [];
  for (let round = 0; ; round++) {
    onPhase?.(round === 0 ? 'send' : `send again, round ${round}: ${sends.at(-1)!.failed} failed rows`);
    const summary = await sendDataset(send);
    sends.push(summary);
    if (summary.failed === 0 || round >= maxRounds) break;
  }
  onPhase?.('merge');
  const layout = jobMapping(formatOf(options.build.dataset, options.build.format), options.build.mapping);
  const merged = await mergeDataset({
    dataset: options.build.dataset,
    ...(layout ? { mapping: layout } : {}),
    results: [options.resultsDir],
    output,
    errorsPath: errorsPath ?? defaultErrorsPath(output),
    rejectsPath: options.rejectsPath,
    ...(field ? { field } : {}),
    ...(answerField ? { answerField } : {}),
    ...(sortMemory ? { sortMemory } : {}),
    ...(tmpDir ? { tmpDir } : {}),
    ...(parseThreads === undefined ? {} : { parseThreads }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { sends, merge: merged };
}
