import { mkdir, readdir, readFile, rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { merge } from '../../src/pipeline/merge.js';
import { tempDir } from '../helpers/server.js';
import { explained, expiredLine, httpErrorLine, okLine, writeLines } from '../helpers/results.js';

// The merge against an oracle written independently of it: every file parsed whole with
// JSON.parse, the join done in memory with a Map, on small random cases. Whatever the engine's
// sorts, hashes, threads and memory, its output must say what the oracle says.

/** What a result line says, as the oracle reads it: an explanation, a failure's reason, or not a result line. */
type Said = { ok: string } | { reason: string } | 'bad';

/** A kind of result line, and what the oracle expects of it. */
const resultKind = fc.oneof(
  fc.string({ maxLength: 20 }).map((t) => ({ line: (id: string) => okLine(id, explained(` ${t} for ${id} `)), said: (id: string): Said => ({ ok: `${t} for ${id}` }) })),
  fc.constant({ line: (id: string) => okLine(id, '{"explanation": "cut', 'length'), said: (): Said => ({ reason: 'truncated' }) }),
  fc.constant({ line: (id: string) => okLine(id, '', 'content_filter'), said: (): Said => ({ reason: 'content_filter' }) }),
  fc.constant({ line: (id: string) => httpErrorLine(id, 500, 'server_error', 'boom'), said: (): Said => ({ reason: 'api_error' }) }),
  fc.constant({ line: (id: string) => expiredLine(id), said: (): Said => ({ reason: 'batch_expired' }) }),
  fc.constant({ line: (id: string) => `{"custom_id": ${JSON.stringify(id)}, "response": {"status_code": 200, "body": {"choices": [`, said: (): Said => 'bad' }),
);

const rowKind = fc.record({
  id: fc.oneof(fc.constantFrom('a', 'b', 'c', 'q"uote', 'back\\slash', 'ميم/١', 'tab\there', '😂', ' '), fc.string({ minLength: 1, maxLength: 6 }), fc.nat(30), fc.constant(null)),
  shape: fc.constantFrom('compact', 'spaced', 'has field', 'blank', 'not json', 'array'),
  results: fc.array(fc.record({ kind: resultKind, file: fc.nat(2) }), { maxLength: 3 }),
  rejected: fc.boolean(),
});

/** The oracle's id rule: a non-blank string, or a safe integer as its decimal text. */
function oracleKey(row: unknown): string | null {
  const id = (row as { id?: unknown }).id;
  if (typeof id === 'string') return id.trim() === '' ? null : id;
  if (typeof id === 'number' && Number.isSafeInteger(id)) return String(id);
  return null;
}

describe('merge against an in-memory oracle (JSON.parse and a Map)', () => {
  it('gives every row the explanation the oracle joins, in order, with the line\'s own bytes kept', async () => {
    const dir = await tempDir('be-merge-oracle-');
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(rowKind, { maxLength: 30 }),
        fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }),
        fc.record({ parseThreads: fc.constantFrom(0, 0, 0, 2), sortMemory: fc.constantFrom(64 << 10, 1 << 20), collide: fc.boolean() }),
        async (rows, strangers, how) => {
          const at = path.join(dir, String(run++));
          await mkdir(path.join(at, 'results'), { recursive: true });
          const lines: string[] = [];
          const files: string[][] = [[], [], []];
          const rejects: string[] = [];
          for (const [i, r] of rows.entries()) {
            const body: Record<string, unknown> = r.id === null ? { text: `row ${i}` } : { id: r.id, text: `نص ${i}` };
            if (r.shape === 'blank') lines.push('  ');
            else if (r.shape === 'not json') lines.push(`not json ${i}`);
            else if (r.shape === 'array') lines.push(JSON.stringify([body]));
            else if (r.shape === 'spaced') lines.push(JSON.stringify(body).replaceAll('":', '": ').replaceAll(',"', ', "'));
            else if (r.shape === 'has field') lines.push(JSON.stringify({ ...body, generated_explanation: 'old', after: true }));
            else lines.push(JSON.stringify(body));
            const key = r.shape === 'compact' || r.shape === 'spaced' || r.shape === 'has field' ? oracleKey(JSON.parse(lines.at(-1)!)) : null;
            if (r.rejected && r.results.length === 0) rejects.push(JSON.stringify({ line: lines.length, id: key, code: 'E_IMAGE', message: 'no image' }));
            if (key !== null) for (const res of r.results) files[res.file]!.push(res.kind.line(key));
          }
          strangers.forEach((s, k) => files[k % 3]!.push(okLine(`stranger ${s}`, explained('nobody asked'))));
          files[run % 3]!.push('{"no": "custom_id"}');
          for (const [k, file] of files.entries()) {
            const name = path.join(at, 'results', `batch_${k}.output.jsonl`);
            await writeLines(name, file);
            // Older files first: a later file's results are newer.
            await utimes(name, 1000 + k, 1000 + k);
          }
          const dataset = await writeLines(path.join(at, 'data.jsonl'), lines);
          const rejectsPath = await writeLines(path.join(at, 'rejects.jsonl'), rejects);
          const output = path.join(at, 'out.jsonl');
          const summary = await merge({ dataset, results: [path.join(at, 'results')], output, rejectsPath, tmpDir: at, parseThreads: how.parseThreads, sortMemory: how.sortMemory, ...(how.collide ? { idHash: () => 7 } : {}) });

          // The oracle: every result file parsed whole, oldest first, each line's verdict by id.
          const byId = new Map<string, Said[]>();
          let bad = 0;
          let unmatched = 0;
          const datasetIds = new Map<string, number>();
          const parsedRows = lines.map((text) => {
            try {
              const v: unknown = JSON.parse(text);
              return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
            } catch {
              return null;
            }
          });
          for (const v of parsedRows) {
            const key = v && oracleKey(v);
            if (key !== null && key !== undefined) datasetIds.set(key, (datasetIds.get(key) ?? 0) + 1);
          }
          for (const [k, file] of files.entries()) {
            for (const text of file) {
              let line: { custom_id?: unknown; response?: { status_code?: number; body?: { choices?: Array<{ message: { content: string }; finish_reason: string }> } } | null; error?: unknown };
              try {
                line = JSON.parse(text);
              } catch {
                // A damaged line (a download cut short) whose custom_id is still readable at its
                // start, a plain literal, is indexed under it: read for a row, it is found
                // damaged then (a bad line) and stands for the row's result as a lost one
                // (no_result); for no row, it is an unmatched result; for a repeated id, it is
                // never read. Without a readable id it is a bad line at once.
                const lost = /^\{"custom_id": "([^"\\\u0000-\u001f]*)"/.exec(text);
                const id = lost && lost[1]!.trim() !== '' ? lost[1]! : null;
                if (id === null) bad++;
                else if (!datasetIds.has(id)) unmatched++;
                else if (datasetIds.get(id) === 1) {
                  bad++;
                  byId.set(id, [...(byId.get(id) ?? []), { reason: 'no_result' }]);
                }
                continue;
              }
              if (typeof line.custom_id !== 'string') {
                bad++;
                continue;
              }
              if (!datasetIds.has(line.custom_id)) {
                unmatched++;
                continue;
              }
              const said = saidBy(line);
              byId.set(line.custom_id, [...(byId.get(line.custom_id) ?? []), said]);
              void k;
            }
          }
          const outLines = (await readFile(output, 'utf8')).split('\n');
          expect(outLines.pop()).toBe('');
          const errors = (await readFile(`${output}.errors.jsonl`, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { line: number; reason: string; code?: string });
          const reasonOf = new Map(errors.map((e) => [e.line, e]));
          let explainedRows = 0;
          let rowCount = 0;
          let out = 0;
          for (const [i, text] of lines.entries()) {
            if (text.trim() === '') continue;
            rowCount++;
            const row = parsedRows[i];
            if (!row) {
              // Not a JSON object: left out of the output, named in the errors file.
              expect(reasonOf.get(i + 1)?.reason, `line ${i + 1}`).toBe('not_json');
              continue;
            }
            const key = oracleKey(row);
            const said = key === null ? [] : (byId.get(key) ?? []);
            // A success wins, then the newest (the last in file order).
            const verdicts = said.filter((s): s is Exclude<Said, 'bad'> => s !== 'bad').reverse();
            const winner = verdicts.find((s) => 'ok' in s) ?? verdicts[0];
            const value = key !== null && datasetIds.get(key) === 1 && winner && 'ok' in winner ? winner.ok : null;
            const got = outLines[out++]!;
            expect(JSON.stringify(JSON.parse(got)), `line ${i + 1}`).toBe(JSON.stringify({ ...row, generated_explanation: value }));
            // The row's own bytes are kept: a new field goes in before its closing brace.
            if (!('generated_explanation' in row)) expect(got.startsWith(text.slice(0, text.lastIndexOf('}')))).toBe(true);
            if (value !== null) {
              explainedRows++;
              expect(reasonOf.has(i + 1)).toBe(false);
              continue;
            }
            const reason = reasonOf.get(i + 1)?.reason;
            // No usable id: it never became a request.
            if (key === null) expect(reason).toBe('not_sent');
            else if (datasetIds.get(key)! > 1) expect(reason).toBe('duplicate_id');
            else if (!winner) expect(reason).toBe(rejects.some((r) => JSON.parse(r).line === i + 1) ? 'not_sent' : 'no_result');
            else expect(reason).toBe((winner as { reason: string }).reason);
          }
          expect(out).toBe(outLines.length);
          expect(summary).toMatchObject({ rows: rowCount, explained: explainedRows, unmatchedResults: unmatched, badResultLines: bad });
          expect(errors.length).toBe(rowCount - explainedRows);
          await rm(at, { recursive: true });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('keeps the newer success of a row answered twice, on threads as on the calling thread', async () => {
    const dir = await tempDir('be-merge-oracle-');
    const n = 3000;
    const dataset = await writeLines(path.join(dir, 'data.jsonl'), Array.from({ length: n }, (_, i) => JSON.stringify({ id: `m-${i}`, text: 'نص' })));
    await mkdir(path.join(dir, 'results'));
    await writeLines(path.join(dir, 'results/batch_1.output.jsonl'), Array.from({ length: n }, (_, k) => (k * 7919) % n).map((i) => (i % 5 === 0 ? httpErrorLine(`m-${i}`, 500, 'server_error', 'boom') : okLine(`m-${i}`, explained(`old ${i}`)))));
    await writeLines(path.join(dir, 'results/batch_2.output.jsonl'), Array.from({ length: n }, (_, k) => (k * 104729) % n).map((i) => (i % 3 === 0 ? expiredLine(`m-${i}`) : okLine(`m-${i}`, explained(`new ${i}`)))));
    await utimes(path.join(dir, 'results/batch_1.output.jsonl'), 1000, 1000);
    await utimes(path.join(dir, 'results/batch_2.output.jsonl'), 2000, 2000);
    const outputs: string[] = [];
    for (const parseThreads of [0, 2]) {
      const output = path.join(dir, `t${parseThreads}.jsonl`);
      const summary = await merge({ dataset, results: [path.join(dir, 'results')], output, parseThreads, indexThread: parseThreads > 0, tmpDir: dir });
      expect(summary).toMatchObject({ rows: n, extraResults: n, byReason: { batch_expired: 200 } });
      outputs.push(await readFile(output, 'utf8'));
    }
    expect(outputs[1]).toBe(outputs[0]);
    const values = outputs[0]!.trim().split('\n').map((l) => JSON.parse(l).generated_explanation);
    // Newer success; else the older success; rows 0, 15, 30…: both failed.
    values.forEach((v, i) => expect(v, `row ${i}`).toBe(i % 3 !== 0 ? `new ${i}` : i % 5 !== 0 ? `old ${i}` : null));
    expect((await readdir(dir)).filter((f) => f.startsWith('batch-explain-sort-'))).toEqual([]);
  });

  it('keeps the newest of a row answered more times than the sort memory holds', async () => {
    const dir = await tempDir('be-merge-oracle-');
    const dataset = await writeLines(path.join(dir, 'data.jsonl'), ['{"id": "a"}', '{"id": "many"}', '{"id": "z"}']);
    // ~170 KB of answers for one row, against 128 KiB of sort memory.
    const answers = Array.from({ length: 400 }, (_, i) => okLine('many', explained(`answer ${String(i).padStart(3, '0')} ${'x'.repeat(300)}`)));
    await writeLines(path.join(dir, 'out.jsonl'), [okLine('z', explained('zed')), ...answers, httpErrorLine('many', 500, null, 'newest but failed'), okLine('a', explained('ay'))]);
    await merge({ dataset, results: [path.join(dir, 'out.jsonl')], output: path.join(dir, 'merged.jsonl'), sortMemory: 128 << 10, tmpDir: dir });
    expect((await readFile(path.join(dir, 'merged.jsonl'), 'utf8')).split('\n')).toEqual(['{"id": "a", "generated_explanation": "ay"}', `{"id": "many", "generated_explanation": "answer 399 ${'x'.repeat(300)}"}`, '{"id": "z", "generated_explanation": "zed"}', '']);
    expect((await readdir(dir)).filter((f) => f.startsWith('batch-explain-sort-'))).toEqual([]);
  });
});

/** The oracle's reading of a result line whose custom_id is known. */
function saidBy(line: { response?: { status_code?: number; body?: { choices?: Array<{ message: { content: string }; finish_reason: string }> } } | null; error?: unknown }): Said {
  if (line.error) return { reason: (line.error as { code?: string }).code === 'batch_expired' ? 'batch_expired' : 'request_error' };
  if (line.response?.status_code !== 200) return { reason: 'api_error' };
  const choice = line.response.body!.choices![0]!;
  if (choice.finish_reason === 'content_filter') return { reason: 'content_filter' };
  if (choice.finish_reason === 'length') return { reason: 'truncated' };
  const explanation = (JSON.parse(choice.message.content) as { explanation: string }).explanation.trim();
  return { ok: explanation };
}
