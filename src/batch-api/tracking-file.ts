import { readFile } from 'node:fs/promises';
import { emptyState, type ManifestState } from './manifest.js';

/**
 * Reads the original scripts' tracking file: one `batch_id,path` per line. Returns the batches
 * as manifest state, so `status` and `retrieve` treat them like their own.
 */
export async function readTrackingFile(file: string): Promise<ManifestState> {
  const state = emptyState();
  const text = await readFile(file, 'utf8');
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line) continue;
    const comma = line.indexOf(',');
    const id = (comma === -1 ? line : line.slice(0, comma)).trim();
    if (!/^batch_[A-Za-z0-9_-]+$/.test(id)) throw new Error(`${file}: line ${i + 1}: expected "batch_id,path", got ${JSON.stringify(line.slice(0, 60))}`);
    state.batches.set(id, { batchId: id, ...(comma === -1 ? {} : { shardPath: line.slice(comma + 1).trim() }) });
  }
  return state;
}
