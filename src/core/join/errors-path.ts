import path from 'node:path';

/**
 * Where merge's errors file goes when none is named: beside the output (`<output>.errors.jsonl`),
 * or, when the output is stdout, `merge-errors.jsonl` in `folder` (the job's folder for `run`;
 * default the working directory).
 */
export function defaultErrorsPath(output: string, folder = '.'): string {
  return output === '-' ? path.join(folder, 'merge-errors.jsonl') : `${output}.errors.jsonl`;
}
