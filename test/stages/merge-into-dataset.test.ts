import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeIntoDataset, type RowOutcome } from '../../src/stages/merge-into-dataset.js';
import { writeLines } from '../helpers/results.js';
import { fromArray } from '../helpers/streams.js';
import { tempDir } from '../helpers/server.js';

describe('mergeIntoDataset', () => {
  it('writes every line once, in order, bytes kept, the field added, replaced or null, with a reason for each null', async () => {
    const dir = await tempDir('be-splice-');
    const dataset = await writeLines(path.join(dir, 'd.jsonl'), [
      '{"id": "a",  "text": "نص \\u0645", "n": 1.50}',
      '{"id":"b","generated_explanation":"old","x":[1,{"y":2}]}',
      'not json',
      '',
      '{"id": "c"}',
      '{"no_id": true}',
    ]);
    const outcomes: RowOutcome[] = [
      { line: 1, id: 'a', explanation: 'شرح "quoted"' },
      { line: 2, id: 'b', explanation: null, explanationJson: '"new"' },
      { line: 5, id: 'c', explanation: null, reason: 'api_error', code: 'http_500', message: 'boom' },
    ];
    const rows = [];
    for await (const row of mergeIntoDataset({ dataset, rejects: [{ line: 6, code: 'E_MISSING_FIELD', message: 'field "id" is missing' }] })(fromArray(outcomes))) {
      rows.push({ line: row.line, text: Buffer.concat(row.parts).toString('utf8'), missing: row.missing });
    }
    expect(rows.map((r) => r.text)).toEqual([
      '{"id": "a",  "text": "نص \\u0645", "n": 1.50, "generated_explanation": "شرح \\"quoted\\""}',
      '{"id":"b","generated_explanation":"new","x":[1,{"y":2}]}',
      'not json',
      '{"id": "c", "generated_explanation": null}',
      '{"no_id": true, "generated_explanation": null}',
    ]);
    expect(rows.map((r) => r.missing && [r.missing.line, r.missing.reason, r.missing.code ?? null])).toEqual([undefined, undefined, [3, 'not_sent', null], [5, 'api_error', 'http_500'], [6, 'not_sent', 'E_MISSING_FIELD']]);
  });
});
