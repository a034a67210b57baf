import path from 'node:path';
import type OpenAI from 'openai';
import { APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { deleteInputFile } from '../../src/batch-api/input-files.js';
import { Manifest, type BatchState } from '../../src/batch-api/manifest.js';
import { tempDir } from '../helpers/server.js';

describe('deleteInputFile', () => {
  it('a deletion that keeps failing is a warning with the attempts and the last failure, without advice meant for the command line', async () => {
    const manifest = await Manifest.open(path.join(await tempDir('be-input-files-'), 'manifest.jsonl'));
    const batch: BatchState = { batchId: 'batch_1', sha256: 'ab'.repeat(32), inputFileId: 'file-1', status: 'completed' };
    manifest.state.batches.set(batch.batchId, batch);
    let calls = 0;
    const client = {
      files: {
        delete: async () => {
          calls++;
          throw APIError.generate(503, { error: { message: 'busy' } }, undefined, new Headers({ 'retry-after': '0' }));
        },
      },
    } as unknown as OpenAI;
    const result = await deleteInputFile(client, manifest, batch, 'completed', { retries: 2 });
    expect(calls).toBe(3);
    expect(result.deleted).toBe(false);
    expect(result.warning).toBe('batch_1: its input file file-1 could not be deleted (still failing after 3 attempts: 503 busy); it expires on its own if it was uploaded with an expiry');
    expect(batch.inputDeleted).toBeUndefined();
    await manifest.close();
  });
});
