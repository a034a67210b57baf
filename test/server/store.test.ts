import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/server/store.js';
import { tempDir } from '../helpers/server.js';

describe('Store.sweepOrphans', () => {
  it('removes what a killed server left half-written: partial uploads and temporary record files', async () => {
    const dir = await tempDir();
    const store = new Store(dir);
    await writeFile(path.join(dir, 'files', 'file-abc.jsonl.partial'), 'half an upload');
    await writeFile(path.join(dir, 'files', 'file-abc.json.123.4.tmp'), '{"half');
    await writeFile(path.join(dir, 'batches', 'batch_abc.json.123.5.tmp'), '{"half');
    store.sweepOrphans();
    expect(await readdir(path.join(dir, 'files'))).toEqual([]);
    expect(await readdir(path.join(dir, 'batches'))).toEqual([]);
  });
});
