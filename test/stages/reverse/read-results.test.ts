import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readResults, resultFromLine } from '../../../src/stages/reverse/read-results.js';
import { indexResults } from '../../../src/stages/reverse/index-results.js';
import { expiredLine, explained, httpErrorLine, okLine, writeLines } from '../../helpers/results.js';
import { fromArray, toArray } from '../../helpers/streams.js';
import { tempDir } from '../../helpers/server.js';

const where = { source: 'f:1', order: 1 };
const reasonOf = (line: string) => {
  const r = resultFromLine(line, where);
  return 'bad' in r ? `bad: ${r.bad}` : r.explanation !== null ? `ok: ${r.explanation}` : `${r.error!.reason}${r.error!.code ? ` ${r.error!.code}` : ''}${r.error!.status ? ` ${r.error!.status}` : ''}`;
};

describe('resultFromLine', () => {
  it.each([
    ['a success', okLine('a', explained('شرح')), 'ok: شرح'],
    ['a truncated answer', okLine('a', '{"explanation": "cut', 'length'), 'truncated'],
    ['a filtered answer', okLine('a', '', 'content_filter'), 'content_filter'],
    ['an answer without the field', okLine('a', '{"label": "x"}'), 'missing_field'],
    ['a 500 in the error file', httpErrorLine('a', 500, 'server_error', 'boom'), 'api_error server_error 500'],
    ['a 429 with no code', httpErrorLine('a', 429, null, 'slow down'), 'api_error 429'],
    ['an Azure content filter (400)', JSON.stringify({ custom_id: 'a', response: { status_code: 400, body: { error: { code: 'content_filter', message: 'filtered', innererror: { code: 'ResponsibleAIPolicyViolation' } } } }, error: null }), 'content_filter content_filter 400'],
    ['an expired request', expiredLine('a'), 'batch_expired batch_expired'],
    ['vLLM: error as a string', JSON.stringify({ id: 'v', custom_id: 'a', response: { status_code: 400, body: null }, error: 'The model `x` does not exist.' }), 'api_error 400'],
    ['vLLM: error as an object', JSON.stringify({ id: 'v', custom_id: 'a', response: { status_code: 200, body: null }, error: { error: { message: 'bad', code: 'bad_request' } } }), 'request_error bad_request'],
    ['a 200 with an error beside it', JSON.stringify({ custom_id: 'a', response: { status_code: 200, body: { choices: [{ message: { content: explained('x') }, finish_reason: 'stop' }] } }, error: { code: 'weird', message: 'still an error' } }), 'request_error weird'],
    ['not JSON', '{"custom_id": "a", "resp', 'bad: not JSON'],
    ['no custom_id', JSON.stringify({ response: { status_code: 200 } }), 'bad: no custom_id'],
  ])('%s', (_what, line, expected) => {
    expect(reasonOf(line)).toContain(expected);
  });

  it('keeps the id, finish_reason and usage, and the field asked for', () => {
    const r = resultFromLine(okLine('x-1', '{"why": "because"}'), where, 'why');
    expect(r).toMatchObject({ id: 'x-1', explanation: 'because', error: null, finish_reason: 'stop', usage: { total_tokens: 15 }, order: 1, source: 'f:1' });
  });
});

describe('readResults and indexResults', () => {
  it('stream every result line of every source; bad lines go to onBadLine', async () => {
    const dir = await tempDir('be-results-');
    const a = await writeLines(path.join(dir, 'a.jsonl'), [okLine('r1', explained('one')), 'garbage', okLine('r"2', explained('two'))]);
    const b = await writeLines(path.join(dir, 'b.jsonl'), [expiredLine('r3')]);
    const bad: string[] = [];
    const records = await toArray(readResults({ onBadLine: (source) => void bad.push(source) })(fromArray([{ path: a, order: 0 }, { path: b, order: 1 }])));
    expect(records.map((r) => [r.id, r.explanation, r.error?.reason ?? null])).toEqual([['r1', 'one', null], ['r"2', 'two', null], ['r3', null, 'batch_expired']]);
    expect(records[2]!.order).toBeGreaterThan(records[1]!.order);
    expect(bad).toEqual([`${a}:2`]);

    const badIndexed: string[] = [];
    const pointers = await toArray(indexResults({ onBadLine: (source) => void badIndexed.push(source) })(fromArray([{ path: a, order: 0, index: 0 }, { path: b, order: 1, index: 1 }])));
    expect(pointers.map((p) => p.id)).toEqual(['r1', 'r"2', 'r3']);
    expect(badIndexed).toEqual([`${a}:2`]);
    // Each pointer leads back to its line.
    const text = await readFile(a);
    const p = pointers[1]!;
    expect(JSON.parse(text.toString('utf8', p.offset, p.offset + p.length)).custom_id).toBe('r"2');
    // One chunk serves both files, lines longer than it included.
    const small = await toArray(indexResults({ chunkBytes: 8 })(fromArray([{ path: a, order: 0, index: 0 }, { path: b, order: 1, index: 1 }])));
    expect(small).toEqual(pointers);
  });

  it('indexResults refuses a read size that is no positive integer (it would never read a byte)', () => {
    expect(() => indexResults({ chunkBytes: 0 })).toThrow(/chunkBytes/);
  });
});
