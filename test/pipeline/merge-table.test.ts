import { mkdir, readdir, readFile, rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { merge, type MergeOptions } from '../../src/pipeline/merge.js';
import { tempDir } from '../helpers/server.js';
import { explained, expiredLine, httpErrorLine, okLine, writeLines } from '../helpers/results.js';

/** One merge: its output, errors and summary (paths left out). */
async function mergeOnce(options: MergeOptions) {
  const summary = await merge(options);
  return {
    output: await readFile(options.output, 'utf8'),
    errors: await readFile(`${options.output}.errors.jsonl`, 'utf8'),
    summary: { ...summary, output: '', errorsPath: '', join: undefined },
    join: summary.join,
  };
}

/** A result line of one of the kinds a batch gives back. */
const resultLine = fc.oneof(
  fc.tuple(fc.string({ maxLength: 30 })).map(([t]) => (id: string) => okLine(id, explained(`${t} for ${id}`))),
  fc.constant((id: string) => okLine(id, `\`\`\`json\n${explained(`fenced ${id}`)}\n\`\`\``)),
  fc.constant((id: string) => okLine(id, '{"explanation": "cut', 'length')),
  fc.constant((id: string) => okLine(id, '{"other": 1}')),
  fc.constant((id: string) => okLine(id, '', 'content_filter')),
  fc.constant((id: string) => httpErrorLine(id, 500, 'server_error', 'boom')),
  fc.constant((id: string) => expiredLine(id)),
  fc.constant((id: string) => `{"custom_id": ${JSON.stringify(id)}, "response": {"status_code": 200, "body": {"choices": [`), // damaged
);

const row = fc.record({
  id: fc.oneof(
    fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s.trim() !== ''),
    fc.constantFrom('q"uote', 'back\\slash', 'ميم/١', 'tab\there', '😂'),
    fc.nat(1000),
    fc.constant(null),
  ),
  kind: fc.constantFrom('json', 'json', 'json', 'json', 'blank', 'not json'),
  results: fc.array(resultLine, { maxLength: 3 }),
  rejected: fc.boolean(),
});

describe('merge: the join by table', () => {
  it('gives byte for byte what the sorted join gives, on datasets of every kind of row and result', async () => {
    const dir = await tempDir('be-merge-table-');
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(row, { maxLength: 40 }), fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }), fc.nat(), async (rows, strangers, seed) => {
        const at = path.join(dir, String(run++));
        await mkdir(path.join(at, 'results'), { recursive: true });
        // Ids unique (a repeated id makes the merge take the sorted join: tested below).
        const seen = new Set<string>();
        const lines: string[] = [];
        const results: string[][] = [[], [], []];
        const rejects: string[] = [];
        rows.forEach((r, i) => {
          const key = r.id === null ? null : String(r.id);
          if (key !== null && seen.has(key)) return;
          if (key !== null) seen.add(key);
          if (r.kind === 'blank') lines.push('');
          else if (r.kind === 'not json') lines.push(`not json ${i}`);
          else lines.push(JSON.stringify(r.id === null ? { text: `row ${i}` } : { id: r.id, text: `نص ${i}` }));
          if (r.rejected && r.results.length === 0) rejects.push(JSON.stringify({ line: lines.length, id: key, code: 'E_IMAGE', message: 'no image' }));
          if (key !== null) r.results.forEach((make, k) => results[(i + k + seed) % 3]!.push(make(key)));
        });
        strangers.forEach((s, k) => results[k % 3]!.push(okLine(`stranger ${s}`, explained('nobody asked'))));
        results[seed % 3]!.push('{"no": "custom_id"}');
        for (const [k, file] of results.entries()) {
          // Shuffled, and older files first.
          const shuffled = file.map((l, i) => [(i * 7 + seed) % (file.length + 1), l] as const).sort((a, b) => a[0] - b[0]).map(([, l]) => l);
          const name = path.join(at, 'results', `batch_${k}.output.jsonl`);
          await writeLines(name, shuffled);
          await utimes(name, 1000 + k, 1000 + k);
        }
        const dataset = await writeLines(path.join(at, 'data.jsonl'), lines);
        const rejectsPath = await writeLines(path.join(at, 'rejects.jsonl'), rejects);
        const common = { dataset, results: [path.join(at, 'results')], rejectsPath, tmpDir: at };
        const sorted = await mergeOnce({ ...common, output: path.join(at, 'sorted.jsonl'), joinByTable: false });
        const table = await mergeOnce({ ...common, output: path.join(at, 'table.jsonl') });
        expect(sorted.join).toBe('sorted');
        expect(table.join).toBe('table');
        expect(table.output).toBe(sorted.output);
        expect(table.errors).toBe(sorted.errors);
        expect(table.summary).toEqual(sorted.summary);
        const s = table.summary;
        expect(s.explained + Object.values(s.byReason).reduce((a, b) => a + b, 0)).toBe(s.rows);
        await rm(at, { recursive: true });
      }),
      { numRuns: 40 },
    );
  });

  it('on threads: the same output as on the calling thread, the buckets removed', async () => {
    const dir = await tempDir('be-merge-table-');
    const n = 3000;
    const dataset = await writeLines(path.join(dir, 'data.jsonl'), Array.from({ length: n }, (_, i) => JSON.stringify({ id: `m-${i}`, text: 'نص' })));
    await mkdir(path.join(dir, 'results'));
    // Two files, every row answered twice (a resubmission): the newer success wins.
    await writeLines(path.join(dir, 'results/batch_1.output.jsonl'), Array.from({ length: n }, (_, k) => (k * 7919) % n).map((i) => (i % 5 === 0 ? httpErrorLine(`m-${i}`, 500, 'server_error', 'boom') : okLine(`m-${i}`, explained(`old ${i}`)))));
    await writeLines(path.join(dir, 'results/batch_2.output.jsonl'), Array.from({ length: n }, (_, k) => (k * 104729) % n).map((i) => (i % 3 === 0 ? expiredLine(`m-${i}`) : okLine(`m-${i}`, explained(`new ${i}`)))));
    await utimes(path.join(dir, 'results/batch_1.output.jsonl'), 1000, 1000);
    await utimes(path.join(dir, 'results/batch_2.output.jsonl'), 2000, 2000);
    const runs = [];
    for (const parseThreads of [0, 2]) runs.push(await mergeOnce({ dataset, results: [path.join(dir, 'results')], output: path.join(dir, `t${parseThreads}.jsonl`), parseThreads, tmpDir: dir }));
    expect(runs[0]!.join).toBe('table');
    expect(runs[1]).toEqual(runs[0]);
    const values = runs[0]!.output.trim().split('\n').map((l) => JSON.parse(l).generated_explanation);
    // Newer success; else the older success; rows 0, 15, 30…: both failed (null, the newer failure's reason).
    values.forEach((v, i) => expect(v, `row ${i}`).toBe(i % 3 !== 0 ? `new ${i}` : i % 5 !== 0 ? `old ${i}` : null));
    expect(runs[0]!.summary).toMatchObject({ rows: n, extraResults: n, byReason: { batch_expired: 200 } });
    expect((await readdir(dir)).filter((f) => f.startsWith('batch-explain-sort-'))).toEqual([]);
  });

  it('sorts a bucket that outgrows its memory: a row answered more times than the memory holds', async () => {
    const dir = await tempDir('be-merge-table-');
    const dataset = await writeLines(path.join(dir, 'data.jsonl'), ['{"id": "a"}', '{"id": "many"}', '{"id": "z"}']);
    // ~170 KB of answers for one row, against 2 × 64 KiB of sort memory.
    const answers = Array.from({ length: 400 }, (_, i) => okLine('many', explained(`answer ${String(i).padStart(3, '0')} ${'x'.repeat(300)}`)));
    await writeLines(path.join(dir, 'out.jsonl'), [okLine('z', explained('zed')), ...answers, httpErrorLine('many', 500, null, 'newest but failed'), okLine('a', explained('ay'))]);
    const common = { dataset, results: [path.join(dir, 'out.jsonl')], sortMemory: 128 << 10, tmpDir: dir };
    const table = await mergeOnce({ ...common, output: path.join(dir, 'table.jsonl') });
    const sorted = await mergeOnce({ ...common, output: path.join(dir, 'sorted.jsonl'), joinByTable: false });
    expect(table.join).toBe('table');
    expect(table.output).toBe(sorted.output);
    expect(table.summary).toEqual(sorted.summary);
    expect(table.output.split('\n')[1]).toBe(`{"id": "many", "generated_explanation": "answer 399 ${'x'.repeat(300)}"}`);
    expect((await readdir(dir)).filter((f) => f.startsWith('batch-explain-sort-'))).toEqual([]);
  });

  it('leaves the merge to the sorted join when an id repeats or the ids outgrow half the sort memory', async () => {
    const dir = await tempDir('be-merge-table-');
    const results = await writeLines(path.join(dir, 'out.jsonl'), Array.from({ length: 5000 }, (_, i) => okLine(`r-${i}`, explained(`e ${i}`))));
    const repeated = await writeLines(path.join(dir, 'repeated.jsonl'), ['{"id": "r-1"}', '{"id": "r-2"}', '{"id": "r-1"}']);
    for (const parseThreads of [0, 2]) {
      const run = await mergeOnce({ dataset: repeated, results: [results], output: path.join(dir, `repeated-${parseThreads}.jsonl`), parseThreads });
      expect(run.join).toBe('sorted');
      expect(run.summary).toMatchObject({ duplicateIdRows: 2, explained: 1 });
    }
    const many = await writeLines(path.join(dir, 'many.jsonl'), Array.from({ length: 5000 }, (_, i) => `{"id": "r-${i}"}`));
    // 5,000 ids need 8,192 slots of 16 bytes (128 KiB): more than half of 192 KiB.
    const small = await mergeOnce({ dataset: many, results: [results], output: path.join(dir, 'small.jsonl'), sortMemory: 192 << 10, tmpDir: dir });
    const large = await mergeOnce({ dataset: many, results: [results], output: path.join(dir, 'large.jsonl'), sortMemory: 2 << 20, tmpDir: dir });
    expect([small.join, large.join]).toEqual(['sorted', 'table']);
    expect(large.output).toBe(small.output);
    expect(large.summary).toEqual(small.summary);
  });

  it('stops its threads on abort and removes the buckets', async () => {
    const dir = await tempDir('be-merge-table-');
    const n = 20_000;
    const dataset = await writeLines(path.join(dir, 'data.jsonl'), Array.from({ length: n }, (_, i) => `{"id": "m-${i}"}`));
    await writeLines(path.join(dir, 'out.jsonl'), Array.from({ length: n }, (_, i) => okLine(`m-${i}`, explained('x'.repeat(500)))));
    const controller = new AbortController();
    const merging = merge({ dataset, results: [path.join(dir, 'out.jsonl')], output: path.join(dir, 'aborted.jsonl'), parseThreads: 2, tmpDir: dir, signal: controller.signal, onStep: (step) => step === 'results' && setImmediate(() => controller.abort(new Error('stopped by the test'))) });
    await expect(merging).rejects.toThrow(/stopped by the test/);
    expect((await readdir(dir)).filter((f) => f.startsWith('batch-explain-sort-') || f.startsWith('aborted'))).toEqual([]);
  });
});
