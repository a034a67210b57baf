// The flags of `run`, apart from its command module: `run --provider direct` (direct.ts) takes them too.
import type { DeleteInputFiles } from '../../src/batch-api/input-files.js';
import type { SubmitArgs } from './submit.js';

export type RunArgs = SubmitArgs & {
  'results-dir'?: string;
  output: string;
  errors?: string;
  field: string;
  'answer-field': string;
  'sort-memory': number;
  'tmp-dir'?: string;
  'parse-threads'?: number;
  'max-rounds': number;
  'expired-rounds': number;
  'delete-input-files': DeleteInputFiles;
};
