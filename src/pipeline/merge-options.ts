// The merge's options (merge.ts), in a file of their own for the library's types.
import type { Manifest } from '../batch-api/manifest.js';

/** The steps of a merge, as told to `onStep` (for progress lines). */
export type MergeStep = 'dataset ids' | 'result index' | 'join' | 'results' | 'output';

export interface MergeOptions {
  /** The dataset file (read twice: it cannot be stdin). */
  dataset: string;
  /** Result files, or folders holding them (`*.jsonl`: our `<batch>.output.jsonl`/`.errors.jsonl`, the original `batch_output_*.jsonl`, vLLM's output). */
  results: string[];
  /** Where the merged dataset goes: a file (written to a temporary name, then renamed) or `-` for stdout. */
  output: string;
  /** A stream instead of `output` (library use). */
  outputStream?: NodeJS.WritableStream;
  /** Every row without an explanation, and why. Default `<output>.errors.jsonl` (`merge-errors.jsonl` for stdout). */
  errorsPath?: string;
  /** The build's rejects file: the reason of rows never sent. */
  rejectsPath?: string;
  /** The job's manifest: batch order (newest result wins) and batches still running (`pending`). */
  manifest?: Manifest;
  /** The field added to each row. Default `generated_explanation`. */
  field?: string;
  /** The JSON field of the explanation in the answers. Default `explanation`. */
  answerField?: string;
  /** The working memory, in bytes, of the sorts (one at a time). Default 16 MiB (DEFAULT_SORT_MEMORY). */
  sortMemory?: number;
  /** Threads parsing result lines. Default 2 (at most the cores) for results of 32 MiB and more, else 0 (the calling thread). */
  parseThreads?: number;
  /** Index the result files on a thread of their own while the dataset's ids are read (the sorted join). Default: for results of 32 MiB and more. */
  indexThread?: boolean;
  /** Told as each step starts (for progress lines). */
  onStep?: (step: MergeStep) => void;
  /** The join key of an id literal's bytes. Default a 52-bit hash; ids whose keys collide are still told apart (tests pass a constant to prove it). */
  idHash?: (buf: Buffer, start: number, end: number) => number;
  tmpDir?: string;
  signal?: AbortSignal;
}

