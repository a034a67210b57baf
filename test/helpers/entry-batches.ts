// Batches of entries for the merge's byte stages, made from and read back into plain pairs.
import { EntryBatch, EntryBatchCursor } from '../../src/core/sort/entry-batch.js';

export type Entry = [key: number, payload: string];

/** Entries in batches of about `bytes` of payload, one batch refilled as the stages do (valid until the next is asked for). */
export async function* batchesOf(entries: Iterable<Entry>, bytes = 300): AsyncGenerator<EntryBatch> {
  const batch = new EntryBatch({ bytes, entries: 8 });
  for (const [key, payload] of entries) {
    batch.addText(key, payload);
    if (batch.full) {
      yield batch;
      batch.clear();
    }
  }
  if (!batch.empty) yield batch;
}

/** The entries of a stream of batches, read through the cursor the stages use (it awaits between batches only). */
export async function entriesOf(batches: AsyncIterable<EntryBatch>): Promise<Entry[]> {
  const cursor = new EntryBatchCursor(batches);
  const entries: Entry[] = [];
  for (await cursor.load(); !cursor.done; ) {
    entries.push([cursor.key, cursor.entry.buf.toString('utf8', cursor.entry.start, cursor.entry.end)]);
    if (!cursor.step()) await cursor.load();
  }
  return entries;
}

/** The entries as `<key>\t<payload>` lines. */
export async function linesOf(batches: AsyncIterable<EntryBatch>): Promise<string[]> {
  return (await entriesOf(batches)).map(([key, payload]) => `${key}\t${payload}`);
}
