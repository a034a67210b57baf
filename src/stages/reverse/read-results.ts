import { fileLines } from '../../core/io/file-lines.js';
import { LINES_PER_SOURCE, resultFromLine, type ResultRecord, type ResultSource } from '../../core/results/result-line.js';
import type { Stage } from '../../types.js';

export { resultFromLine, type ResultFailure, type ResultRecord, type ResultSource } from '../../core/results/result-line.js';

export interface ReadResultsOptions {
  /** The JSON field of the explanation in the answers. Default `explanation`. */
  field?: string;
  /** A line that is not a result line (not JSON, no custom_id): counted, never fatal. */
  onBadLine?: (source: string, message: string) => void | Promise<void>;
}

/**
 * Stage: result sources → result records, streamed file by file, line by line. Holds one line.
 * Bad lines (truncated downloads, damaged files) go to `onBadLine` and are skipped: the rows they
 * were for end up without a result and are reported as such by the merge.
 */
export function readResults(options: ReadResultsOptions = {}): Stage<ResultSource, ResultRecord> {
  return async function* readResultsStage(sources) {
    for await (const src of sources) {
      for await (const { line, text } of fileLines(src.path)) {
        if (text.trim() === '') continue;
        const where = { source: `${src.path}:${line}`, order: src.order * LINES_PER_SOURCE + line };
        const r = resultFromLine(text, where, options.field);
        if ('bad' in r) await options.onBadLine?.(where.source, r.bad);
        else yield r;
      }
    }
  };
}
