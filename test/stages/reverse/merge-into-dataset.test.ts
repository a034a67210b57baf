import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DatasetSplicer, mergeIntoDataset, type MergedRow, type RowOutcome, type RowSink } from '../../../src/stages/reverse/merge-into-dataset.js';
import { writeLines } from '../../helpers/results.js';
import { fromArray } from '../../helpers/streams.js';
import { tempDir } from '../../helpers/server.js';

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
      // Not a JSON object: no bytes in the output, its text in the errors file.
      '',
      '{"id": "c", "generated_explanation": null}',
      '{"no_id": true, "generated_explanation": null}',
    ]);
    expect(rows.map((r) => r.missing && [r.missing.line, r.missing.reason, r.missing.code ?? null])).toEqual([undefined, undefined, [3, 'not_json', null], [5, 'api_error', 'http_500'], [6, 'not_sent', 'E_MISSING_FIELD']]);
    expect(rows[2]!.missing).toMatchObject({ text: 'not json', message: 'the line is not a JSON object' });
  });

  it('lets the rejects go when closed before the end (a sort\'s runs being read)', async () => {
    const dataset = await writeLines(path.join(await tempDir('be-splice-'), 'd.jsonl'), ['{"id": "a"}', '{"id": "b"}']);
    let closed = false;
    function* rejects() {
      try {
        yield { line: 1, code: 'E_X', message: 'x' };
        yield { line: 2, code: 'E_X', message: 'x' };
      } finally {
        closed = true;
      }
    }
    const splicer = new DatasetSplicer({ dataset, rejects: rejects() });
    splicer.upTo(1, { id: '', reason: 'no_result' }).next();
    splicer.close();
    expect(closed).toBe(true);
  });

  it("names a row left unsent by its id only when the dataset's rule takes it (validateRow's: a non-empty string or a safe integer)", async () => {
    const dir = await tempDir('be-splice-');
    const ids = ['"x"', '7', '""', '"  "', '1.5', '9007199254740993', '1e3', 'null', '["a"]'];
    const dataset = await writeLines(path.join(dir, 'd.jsonl'), ids.map((id) => `{"id": ${id}}`));
    const missing = [];
    for await (const row of mergeIntoDataset({ dataset })(fromArray([]))) missing.push(row.missing?.id);
    expect(missing).toEqual(['x', '7', null, null, null, null, '1000', null, null]);
  });

  // A dataset of ~3 MB: its lines are read through a 1 MiB buffer refilled (and shifted) many times.
  const bigRows = Array.from({ length: 3000 }, (_, i) => `{"id": "r${i}", "text": "${'نص '.repeat(150 + (i % 7))}"}`);
  const explainedEvery = 7;
  const expectedRows = bigRows.map((r, i) => `${r.slice(0, -1)}, "generated_explanation": ${i % explainedEvery === 0 ? JSON.stringify(`شرح ${i}`) : 'null'}}`);

  it('gives rows whose parts stay valid until the next row is asked for, across refills of the line buffer', async () => {
    const dataset = await writeLines(path.join(await tempDir('be-splice-'), 'd.jsonl'), bigRows);
    const outcomes: RowOutcome[] = bigRows.flatMap((_, i) => (i % explainedEvery === 0 ? [{ line: i + 1, id: `r${i}`, explanation: `شرح ${i}` }] : []));
    const texts: string[] = [];
    for await (const row of mergeIntoDataset({ dataset })(fromArray(outcomes))) texts.push(Buffer.concat(row.parts).toString('utf8'));
    expect(texts).toEqual(expectedRows);
  });

  it('writes rows piece by piece into a sink, stopping between rows while the sink is full', async () => {
    const dataset = await writeLines(path.join(await tempDir('be-splice-'), 'd.jsonl'), bigRows);
    const splicer = new DatasetSplicer({ dataset });
    let current: Buffer[] = [];
    const rows: Array<{ line: number; text: string; missing: MergedRow['missing'] }> = [];
    let stops = 0;
    // Full after every 5 rows, until the caller empties it (as the merge drains its output).
    let sinceEmptied = 0;
    const sink: RowSink = {
      piece: (buf, start, end) => current.push(Buffer.from(buf.subarray(start, end))),
      endRow: (line, missing) => {
        rows.push({ line, text: Buffer.concat(current).toString('utf8'), missing });
        current = [];
        sinceEmptied++;
      },
      dropRow: () => {
        throw new Error('every line of this dataset is a JSON object');
      },
      get full() {
        return sinceEmptied >= 5;
      },
    };
    const json = Buffer.from('xx"شرح"yy');
    try {
      for (let i = 0; i < bigRows.length; i += explainedEvery) {
        const outcome = i === 14 ? { id: `r${i}`, reason: 'api_error', message: 'boom' } : { json, start: 2, end: json.length - 2 };
        while (!splicer.writeUpTo(i + 1, outcome, sink)) {
          stops++;
          sinceEmptied = 0;
        }
      }
      while (!splicer.writeRest(sink)) sinceEmptied = 0;
    } finally {
      splicer.close();
    }
    expect(stops).toBeGreaterThan(100);
    expect(rows.map((r) => r.line)).toEqual(bigRows.map((_, i) => i + 1));
    expect(rows.map((r) => r.text)).toEqual(expectedRows.map((r, i) => (i % explainedEvery === 0 && i !== 14 ? r.replace(JSON.stringify(`شرح ${i}`), '"شرح"') : r.replace(/"generated_explanation": .*\}$/, '"generated_explanation": null}'))));
    expect(rows.filter((r) => r.missing).map((r) => r.missing!.reason)).toEqual(bigRows.flatMap((_, i) => (i % explainedEvery === 0 ? (i === 14 ? ['api_error'] : []) : ['not_sent'])));
  });

  it('replaces the field where a row has it, and only there, wherever its name falls among the blocks read (the name searched a block at a time)', async () => {
    // ~3 MB of rows of varied lengths: the name lands at many places of the 1 MiB blocks, near their ends too.
    const rows = Array.from({ length: 3000 }, (_, i) => {
      const text = `${'x'.repeat((i * 37) % 900)}${i % 3 === 0 ? ' generated_explanation' : ''}`;
      return i % 5 === 0 ? `{"id": "r${i}", "generated_explanation": "old", "text": "${text}"}` : `{"id": "r${i}", "text": "${text}"}`;
    });
    const dataset = await writeLines(path.join(await tempDir('be-splice-'), 'd.jsonl'), rows);
    const outcomes: RowOutcome[] = rows.map((_, i) => ({ line: i + 1, id: `r${i}`, explanation: `e${i}` }));
    const texts: string[] = [];
    for await (const row of mergeIntoDataset({ dataset })(fromArray(outcomes))) texts.push(Buffer.concat(row.parts).toString('utf8'));
    expect(texts).toEqual(rows.map((r, i) => (i % 5 === 0 ? r.replace('"old"', `"e${i}"`) : `${r.slice(0, -1)}, "generated_explanation": "e${i}"}`)));
    expect(texts.map((t) => JSON.parse(t).generated_explanation)).toEqual(rows.map((_, i) => `e${i}`));
  });
});
