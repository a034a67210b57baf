import { mkdir, readFile, readdir, utimes } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { merge } from '../../src/pipeline/merge.js';
import { Manifest } from '../../src/batch-api/manifest.js';
import { tempDir } from '../helpers/server.js';
import { explained, expiredLine, httpErrorLine, okLine, writeLines } from '../helpers/results.js';

const rows = [
  '{"id": "a", "img_path": "x.jpg", "class_label": "propaganda", "text": "مصر أولاً", "score": 1.0}',
  '{"id":"b","img_path":"y.jpg","class_label":["p","q"],"nested":{"generated_explanation":"keep me"}}',
  '{"id": 3, "img_path": "z.jpg", "class_label": "not-propaganda"}',
  '{"id": "d", "img_path": "w.jpg", "class_label": "hateful"}',
  'not json at all',
  '{"id": "f", "img_path": "v.jpg", "class_label": "x"}',
  '{"id": "g", "img_path": "u.jpg", "class_label": "x"}',
  '{"id": "h", "img_path": "t.jpg", "class_label": "x"}',
  '{"id": "i", "img_path": "s.jpg", "class_label": "x"}',
  '{"id": "j", "img_path": "r.jpg", "class_label": "x"}',
  '{"img_path": "no-id.jpg", "class_label": "x"}',
  '{"id": "dup", "img_path": "1.jpg", "class_label": "x"}',
  '{"id": "dup", "img_path": "2.jpg", "class_label": "x"}',
  '{"id": "k", "img_path": "k.jpg", "class_label": "x"}',
];

async function setup() {
  const dir = await tempDir('be-merge-');
  const dataset = await writeLines(path.join(dir, 'data.jsonl'), [rows[0]!, '', ...rows.slice(1)]); // a blank line 2: line numbers shift
  await mkdir(path.join(dir, 'results'));
  // The first file (older) and the second (newer) are given out of order and shuffled inside.
  const older = await writeLines(path.join(dir, 'results/batch_1.output.jsonl'), [
    okLine('h', '{"explanation": "truncated', 'length'),
    okLine('b', '```json\n{"explanation": "بيان ب"}\n```'),
    httpErrorLine('j', 500, 'server_error', 'boom'),
    okLine('a', explained('old answer for a')),
    okLine('3', explained('answer three')),
    okLine('unknown-id', explained('nobody asked')),
  ]);
  const newer = await writeLines(path.join(dir, 'results/batch_2.output.jsonl'), [
    okLine('j', explained('j succeeded on the second try')),
    okLine('a', explained('new answer for a')),
    okLine('f', 'Sure! Here you go: {"explanation": "f explained"} Anything else?'),
    okLine('g', '{"reason": "no field"}'),
    okLine('i', '', 'content_filter'),
    expiredLine('d'),
    okLine('dup', explained('ambiguous')),
    '{"truncated line',
  ]);
  await utimes(older, 1000, 1000);
  await utimes(newer, 2000, 2000);
  const rejects = await writeLines(path.join(dir, 'rejects.jsonl'), [
    JSON.stringify({ line: 12, id: null, stage: 'validateRow', code: 'E_MISSING_FIELD', message: 'field "id" is missing' }),
    JSON.stringify({ line: 6, id: null, stage: 'readJsonl', code: 'E_BAD_JSON', message: 'invalid JSON' }),
  ]);
  return { dir, dataset, rejects };
}

const parse = (text: string) => text.trim().split('\n');

describe('merge', () => {
  it('folds results into every row in dataset order, keeps each line as it was, and explains every null', async () => {
    const { dir, dataset, rejects } = await setup();
    const output = path.join(dir, 'merged.jsonl');
    const summary = await merge({ dataset, results: [path.join(dir, 'results')], output, rejectsPath: rejects, sortMemory: 2_000 });
    const lines = parse(await readFile(output, 'utf8'));
    // The line that is not JSON is left out: the output is JSONL every reader takes.
    expect(lines).toHaveLength(13);
    expect(lines[0]).toBe('{"id": "a", "img_path": "x.jpg", "class_label": "propaganda", "text": "مصر أولاً", "score": 1.0, "generated_explanation": "new answer for a"}');
    expect(lines[1]).toBe('{"id":"b","img_path":"y.jpg","class_label":["p","q"],"nested":{"generated_explanation":"keep me"},"generated_explanation":"بيان ب"}');
    const values = lines.map((l) => JSON.parse(l).generated_explanation);
    expect(values).toEqual(['new answer for a', 'بيان ب', 'answer three', null, 'f explained', null, null, null, 'j succeeded on the second try', null, null, null, null]);
    const errors = parse(await readFile(`${output}.errors.jsonl`, 'utf8')).map((l) => JSON.parse(l));
    expect(errors.find((e) => e.line === 6)).toEqual({ line: 6, id: null, reason: 'not_json', message: 'the line is not a JSON object', text: 'not json at all' });
    expect(errors.map((e) => [e.line, e.id, e.reason, e.code ?? null])).toEqual([
      [5, 'd', 'batch_expired', 'batch_expired'],
      [6, null, 'not_json', null],
      [8, 'g', 'missing_field', null],
      [9, 'h', 'truncated', null],
      [10, 'i', 'content_filter', null],
      [12, null, 'not_sent', 'E_MISSING_FIELD'],
      [13, 'dup', 'duplicate_id', null],
      [14, 'dup', 'duplicate_id', null],
      [15, 'k', 'no_result', null],
    ]);
    expect(summary).toMatchObject({
      rows: 14,
      explained: 5,
      byReason: { batch_expired: 1, not_json: 1, not_sent: 1, missing_field: 1, truncated: 1, content_filter: 1, duplicate_id: 2, no_result: 1 },
      duplicateIdRows: 2,
      extraResults: 2,
      unmatchedResults: 1,
      badResultLines: 1,
      sources: 2,
    });
    expect(summary.explained + Object.values(summary.byReason).reduce((a, b) => a + b, 0)).toBe(summary.rows);
  });

  it('gives the same output whatever the sort memory (many runs or none)', async () => {
    const { dir, dataset } = await setup();
    const outputs = [];
    for (const sortMemory of [500, 64 * 1024 * 1024]) {
      const output = path.join(dir, `m-${sortMemory}.jsonl`);
      await merge({ dataset, results: [path.join(dir, 'results')], output, sortMemory });
      outputs.push(await readFile(output, 'utf8'));
    }
    expect(outputs[0]).toBe(outputs[1]);
  });

  it('gives the same output with the results indexed on a thread, parsed on threads or not, and stops that thread on abort', async () => {
    const { dir, dataset, rejects } = await setup();
    const outputs = [];
    for (const threads of [0, 2]) {
      const output = path.join(dir, `t-${threads}.jsonl`);
      const summary = await merge({ dataset, results: [path.join(dir, 'results')], output, rejectsPath: rejects, sortMemory: 200_000, indexThread: threads > 0, parseThreads: threads, tmpDir: dir });
      outputs.push([await readFile(output, 'utf8'), await readFile(`${output}.errors.jsonl`, 'utf8'), { ...summary, output: '', errorsPath: '' }]);
    }
    expect(outputs[1]).toEqual(outputs[0]);
    const controller = new AbortController();
    controller.abort(new Error('stopped by the test'));
    await expect(merge({ dataset, results: [path.join(dir, 'results')], output: path.join(dir, 'aborted.jsonl'), indexThread: true, tmpDir: dir, signal: controller.signal })).rejects.toThrow(/stopped by the test/);
    expect((await readdir(dir)).filter((f) => f.startsWith('batch-explain-sort-') || f.startsWith('aborted'))).toEqual([]);
  });

  it('removes the runs of the result threads when stopped after they handed them over', async () => {
    const { dir, dataset } = await setup();
    const controller = new AbortController();
    const stopAt = (step: string) => step === 'output' && controller.abort(new Error('stopped by the test'));
    await expect(merge({ dataset, results: [path.join(dir, 'results')], output: path.join(dir, 'aborted.jsonl'), sortMemory: 500, parseThreads: 2, tmpDir: dir, signal: controller.signal, onStep: stopAt })).rejects.toThrow(/stopped by the test/);
    expect((await readdir(dir)).filter((f) => f.startsWith('batch-explain-sort-') || f.startsWith('aborted'))).toEqual([]);
  });

  it('leaves no temporary output behind when its errors file cannot be made', async () => {
    const { dir, dataset } = await setup();
    await mkdir(path.join(dir, 'out'));
    await expect(merge({ dataset, results: [path.join(dir, 'results')], output: path.join(dir, 'out', 'merged.jsonl'), errorsPath: path.join(dir, 'no-such-folder', 'errors.jsonl'), tmpDir: dir })).rejects.toThrow(/ENOENT/);
    expect(await readdir(path.join(dir, 'out'))).toEqual([]);
  });

  it('tells each step as it starts, in order, whatever the dataset holds (rows, none, none with an id), on a thread or not', async () => {
    const { dir, dataset } = await setup();
    const empty = await writeLines(path.join(dir, 'empty.jsonl'), []);
    const noIds = await writeLines(path.join(dir, 'no-ids.jsonl'), ['{"text": "no id"}', 'not json']);
    for (const data of [dataset, empty, noIds]) {
      for (const threads of [0, 2]) {
        const steps: string[] = [];
        await merge({ dataset: data, results: [path.join(dir, 'results')], output: path.join(dir, 'steps.jsonl'), indexThread: threads > 0, parseThreads: threads, tmpDir: dir, onStep: (s) => steps.push(s) });
        expect(steps, `${path.basename(data)}, ${threads} threads`).toEqual(['dataset ids', 'result index', 'join', 'results', 'output']);
      }
    }
  });

  it('keeps every explanation whole when the sorted outcomes are read back across buffer refills', async () => {
    const dir = await tempDir('be-merge-');
    const n = 4000;
    const text = (i: number) => `شرح ${i}: ${'the meme العلم and its caption '.repeat(20 + (i % 17))}`;
    const dataset = await writeLines(path.join(dir, 'data.jsonl'), Array.from({ length: n }, (_, i) => JSON.stringify({ id: `m-${i}`, text: 'نص' })));
    const order = Array.from({ length: n }, (_, i) => (i * 7919) % n);
    await writeLines(path.join(dir, 'out.jsonl'), order.map((i) => okLine(`m-${i}`, explained(text(i)))));
    for (const parseThreads of [0, 2]) {
      const output = path.join(dir, `merged-${parseThreads}.jsonl`);
      const summary = await merge({ dataset, results: [path.join(dir, 'out.jsonl')], output, parseThreads, tmpDir: dir });
      expect(summary.explained).toBe(n);
      const lines = parse(await readFile(output, 'utf8'));
      expect(lines).toHaveLength(n);
      lines.forEach((l, i) => expect(JSON.parse(l).generated_explanation, `line ${i + 1}`).toBe(text(i).trim()));
    }
  });

  it('takes a result line larger than a parse batch', async () => {
    const dir = await tempDir('be-merge-');
    const long = 'شرح '.repeat(100_000);
    const dataset = await writeLines(path.join(dir, 'data.jsonl'), ['{"id": "s"}', '{"id": "big"}']);
    await writeLines(path.join(dir, 'out.jsonl'), [okLine('s', explained('short')), okLine('big', explained(long))]);
    const output = path.join(dir, 'merged.jsonl');
    expect(await merge({ dataset, results: [path.join(dir, 'out.jsonl')], output, parseThreads: 0 })).toMatchObject({ rows: 2, explained: 2 });
    expect(parse(await readFile(output, 'utf8')).map((l) => JSON.parse(l).generated_explanation)).toEqual(['short', long.trim()]);
  });

  it('tells ids apart when their join keys collide: the same output with every id hashed alike', async () => {
    const { dir, dataset, rejects } = await setup();
    const outputs = [];
    for (const idHash of [undefined, () => 7]) {
      const output = path.join(dir, `h-${idHash ? 'collide' : 'hash'}.jsonl`);
      const summary = await merge({ dataset, results: [path.join(dir, 'results')], output, rejectsPath: rejects, sortMemory: 3_000, ...(idHash ? { idHash } : {}) });
      outputs.push([await readFile(output, 'utf8'), await readFile(`${output}.errors.jsonl`, 'utf8'), summary.explained, summary.unmatchedResults]);
    }
    expect(outputs[1]).toEqual(outputs[0]);
  });

  it('matches escaped, numeric and non-ASCII ids to their custom_id', async () => {
    const dir = await tempDir('be-merge-');
    const ids = ['q"uote', 'back\\slash', 'ميم/١', 'tab\there', '  padded  '];
    const dataset = await writeLines(path.join(dir, 'data.jsonl'), [
      ...ids.map((id) => `{"id": ${JSON.stringify(id)}}`),
      '{"id": "\u0645\u064a\u0645"}', // "ميم" written with escapes
      '{"id": 42}',
      '{"id": "   "}',
    ]);
    await writeLines(path.join(dir, 'out.jsonl'), [...ids, 'ميم', '42', '   '].map((id) => okLine(id, explained(`for [${id}]`))).reverse());
    const output = path.join(dir, 'merged.jsonl');
    const summary = await merge({ dataset, results: [path.join(dir, 'out.jsonl')], output });
    const values = parse(await readFile(output, 'utf8')).map((l) => JSON.parse(l).generated_explanation);
    expect(values).toEqual([...ids.map((id) => `for [${id}]`), 'for [ميم]', 'for [42]', null]);
    expect(summary).toMatchObject({ rows: 8, explained: 7, unmatchedResults: 1 });
  });

  it("reads the original scripts' layout, renames the field, replaces one already there, and writes to a stream", async () => {
    const dir = await tempDir('be-merge-');
    const dataset = await writeLines(path.join(dir, 'data.jsonl'), ['{"id": "x1", "explanation": "stale"}', '{"id": "x2"}']);
    await mkdir(path.join(dir, 'results'));
    await writeLines(path.join(dir, 'results/batch_output_batch_abc.jsonl'), [okLine('x2', explained('two')), okLine('x1', explained('one'))]);
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c));
    await merge({ dataset, results: [path.join(dir, 'results')], output: '-', outputStream: out, errorsPath: path.join(dir, 'e.jsonl'), field: 'explanation' });
    expect(parse(text)).toEqual(['{"id": "x1", "explanation": "one"}', '{"id": "x2", "explanation": "two"}']);
  });

  it("reads vLLM run_batch output: one file, errors as a string or an object", async () => {
    const dir = await tempDir('be-merge-');
    const dataset = await writeLines(path.join(dir, 'data.jsonl'), ['{"id": "v1"}', '{"id": "v2"}', '{"id": "v3"}']);
    const vllm = await writeLines(path.join(dir, 'vllm-out.jsonl'), [
      JSON.stringify({ id: 'vllm-1', custom_id: 'v1', response: { status_code: 200, request_id: 'r', body: { choices: [{ index: 0, message: { role: 'assistant', content: explained('from vllm') }, finish_reason: 'stop' }] } }, error: null }),
      JSON.stringify({ id: 'vllm-2', custom_id: 'v2', response: { status_code: 400, request_id: 'r', body: null }, error: 'The model `x` does not exist.' }),
      JSON.stringify({ id: 'vllm-3', custom_id: 'v3', response: { status_code: 400, request_id: 'r', body: null }, error: { error: { message: 'bad request', type: 'BadRequestError', param: null, code: 400 } } }),
    ]);
    const output = path.join(dir, 'merged.jsonl');
    const summary = await merge({ dataset, results: [vllm], output });
    expect(summary).toMatchObject({ explained: 1, byReason: { api_error: 2 } });
    const errors = parse(await readFile(`${output}.errors.jsonl`, 'utf8')).map((l) => JSON.parse(l));
    expect(errors[0].message).toMatch(/does not exist/);
    expect(errors[1].message).toMatch(/bad request/);
  });

  it('calls rows of unfinished batches pending, per the manifest', async () => {
    const dir = await tempDir('be-merge-');
    const dataset = await writeLines(path.join(dir, 'data.jsonl'), ['{"id": "p1"}', '{"id": "p2"}']);
    await mkdir(path.join(dir, 'results'));
    await writeLines(path.join(dir, 'results/batch_done.output.jsonl'), [okLine('p1', explained('done'))]);
    const manifest = await Manifest.open(path.join(dir, 'manifest.jsonl'));
    await manifest.append({ type: 'status', batch_id: 'batch_done', status: 'completed' });
    await manifest.append({ type: 'downloaded', batch_id: 'batch_done', output: { path: 'x', lines: 1, bytes: 1 } });
    await manifest.append({ type: 'status', batch_id: 'batch_running', status: 'in_progress' });
    const output = path.join(dir, 'merged.jsonl');
    const summary = await merge({ dataset, results: [path.join(dir, 'results')], output, manifest });
    await manifest.close();
    expect(summary.byReason).toEqual({ pending: 1 });
  });

  it('refuses stdin as the dataset, and names a missing results folder', async () => {
    await expect(merge({ dataset: '-', results: [], output: '-' })).rejects.toThrow(/reads the dataset twice/);
    const dir = await tempDir('be-merge-');
    const dataset = await writeLines(path.join(dir, 'data.jsonl'), ['{"id": "a"}']);
    await expect(merge({ dataset, results: [path.join(dir, 'nope')], output: path.join(dir, 'o.jsonl') })).rejects.toThrow(/results: .*nope: no such file or folder/);
  });
});
