import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spliceIntoDataset } from '../../../src/stages/reverse/splice-into-dataset.js';
import type { MergedRow } from '../../../src/stages/reverse/merge-into-dataset.js';
import { batchesOf } from '../../helpers/entry-batches.js';
import { failurePayload } from '../../../src/core/results/result-batch.js';
import { writeLines } from '../../helpers/results.js';
import { tempDir } from '../../helpers/server.js';

describe('spliceIntoDataset', () => {
  const rows = [
    '{"id": "a",  "text": "نص \\u0645", "n": 1.50}',
    '{"id":"b","generated_explanation":"old","x":[1,{"y":2}]}',
    'not json',
    '',
    '{"id": "c"}',
    '{"id": "d"}',
    '{"id": "e"}',
    '{"no_id": true}',
  ];
  const outcomes: Array<[number, string]> = [
    [1, JSON.stringify('شرح "quoted"')],
    [2, '"new"'],
    [5, failurePayload('c', 'api_error', 'http_500', 'boom')],
    // Several results for a row: a success beats a failure, then the newest wins.
    [6, `*3\t${failurePayload('d', 'api_error', null, 'newest, but failed')}`],
    [6, `*1\t${JSON.stringify('older success')}`],
    [6, `*2\t${JSON.stringify('newer success')}`],
    [7, `*1\t${failurePayload('e', 'expired', null, 'old')}`],
    [7, `*4\t${failurePayload('e', 'api_error', 'http_429', 'new')}`],
  ];
  const expected = [
    '{"id": "a",  "text": "نص \\u0645", "n": 1.50, "generated_explanation": "شرح \\"quoted\\""}',
    '{"id":"b","generated_explanation":"new","x":[1,{"y":2}]}',
    '{"id": "c", "generated_explanation": null}',
    '{"id": "d", "generated_explanation": "newer success"}',
    '{"id": "e", "generated_explanation": null}',
    '{"no_id": true, "generated_explanation": null}',
  ];

  it('splices each outcome into its row, whatever the sizes of the chunks in and out: the same bytes, the same reasons', async () => {
    const dataset = await writeLines(path.join(await tempDir('be-splice-lines-'), 'd.jsonl'), rows);
    for (const [inBytes, outBytes] of [[16, 8], [40, 30], [1 << 16, 1 << 16]] as const) {
      const missing: Array<MergedRow['missing']> = [];
      const chunks: Buffer[] = [];
      const stage = spliceIntoDataset({ dataset, rejects: [{ line: 8, code: 'E_MISSING_FIELD', message: 'field "id" is missing' }], onRow: (m) => missing.push(m), chunkBytes: outBytes });
      // Copied: a chunk is valid until the next is asked for.
      for await (const chunk of stage(batchesOf(outcomes, inBytes))) chunks.push(Buffer.from(chunk));
      expect(Buffer.concat(chunks).toString('utf8'), `chunks of ${inBytes} in, ${outBytes} out`).toBe(`${expected.join('\n')}\n`);
      expect(missing.map((m) => m && [m.line, m.reason, m.code ?? null])).toEqual([undefined, undefined, [3, 'not_json', null], [5, 'api_error', 'http_500'], undefined, [7, 'api_error', 'http_429'], [8, 'not_sent', 'E_MISSING_FIELD']]);
    }
  });

  it('fails when stopped, between chunks', async () => {
    const dataset = await writeLines(path.join(await tempDir('be-splice-lines-'), 'd.jsonl'), rows);
    const stop = new AbortController();
    const stage = spliceIntoDataset({ dataset, chunkBytes: 8 })(batchesOf(outcomes, 16), { signal: stop.signal });
    await stage.next();
    stop.abort(new Error('stopped'));
    await expect(stage.next()).rejects.toThrow('stopped');
  });
});
