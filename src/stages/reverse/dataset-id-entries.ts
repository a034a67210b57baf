import { datasetKeyLines, type IdHash } from '../../core/join/join-keys.js';
import { hashBytes } from '../../core/json/id-key.js';
import { EntryBatch } from '../../core/sort/entry-batch.js';

export interface DatasetIdEntriesOptions {
  /** The dataset file (JSONL), read in its order. */
  dataset: string;
  /** The key of an id's JSON literal bytes. Default a 52-bit hash ({@link hashBytes}); a test may give one that collides. */
  idHash?: IdHash;
}

/**
 * Source stage: a dataset → one entry per row with a usable id (the rule of `validateRow`), keyed
 * by the hash of the id's JSON literal, `<line>\t<literal>`, in batches: the left side of the merge's
 * join, to be sorted by key ({@link sortEntries}) and joined with the results' index
 * ({@link indexResultEntries}). The id is read from the start of the line where it lies
 * (`{"id": …` first, as most datasets have it), else the line is parsed. Rows without a usable
 * id are left out here: the splice gives them their reason.
 */
export function datasetIdEntries(options: DatasetIdEntriesOptions): (options?: { signal?: AbortSignal }) => AsyncGenerator<EntryBatch> {
  return async function* datasetIdEntriesSource({ signal } = {}) {
    const out = new EntryBatch();
    for (const _ of datasetKeyLines(options.dataset, out, options.idHash ?? hashBytes, signal)) {
      yield out;
      out.clear();
    }
    if (!out.empty) yield out;
  };
}
