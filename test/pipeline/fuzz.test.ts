import { isUtf8 } from 'node:buffer';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { build } from '../../src/pipeline/build.js';
import { merge } from '../../src/pipeline/merge.js';
import { explained, okLine } from '../helpers/results.js';
import { tempDir } from '../helpers/server.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/** Strings that break naive code: RTL marks, combining characters, emoji, NUL, lone surrogates, quotes. */
const nasty = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('\u200f\u202eميم', 'e\u0301\u0301', '👨‍👩‍👧‍👦', 'a\u0000b', '\ud800', '"\\', '\t\n\r', '', ' ', '١٢٣', '{"id":1}'),
);
/** A value of any JSON type, sometimes deeply nested. */
const anyJson = fc.oneof(nasty, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(nasty, { maxLength: 3 }), fc.constant(JSON.parse(`${'['.repeat(300)}1${']'.repeat(300)}`)));
/** A dataset line: a plausible row (with any field of any type), raw bytes, or one of the shapes that break parsers. */
const datasetLine = fc.oneof(
  fc.record({ id: fc.oneof(nasty, fc.integer(), anyJson), img_path: fc.oneof(fc.constantFrom('images/face.png', 'images/banner.jpg', 'images/liar.png', '../README.md', 'https://x/y.jpg'), anyJson), class_label: fc.oneof(fc.constantFrom('propaganda', 'hateful'), anyJson), text: anyJson }, { requiredKeys: [] }).map((r) => Buffer.from(JSON.stringify(r))),
  fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b).filter((x) => x !== 10)),
  fc.constantFrom(Buffer.from([0xff, 0xfe, 0x22]), Buffer.from('{"id": "x", "img_path": "images/face.png", "class_label": "p"'), Buffer.from('\u0000\u0000'), Buffer.from('[1,2]'), Buffer.from('"just a string"'), Buffer.from('{"id": "big", "text": "' + 'x'.repeat(200_000) + '"}')),
);

/** Blank as JSON sees it (space, tab, CR): what build skips and merge does not count as a row. */
describe('hostile input, fuzzed', () => {
  it('build: every non-blank line is a request or a reject with a code, never an exception', async () => {
    const dir = await tempDir('be-fuzz-');
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(datasetLine, { maxLength: 25 }), async (lines) => {
        const dataset = path.join(dir, `d${run}.jsonl`);
        const outDir = path.join(dir, `out${run++}`);
        await writeFile(dataset, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));
        // No request at all is a failure (E_NO_REQUESTS), its rejects file kept: the counts are checked from it.
        const summary = await build({ dataset, template: 'Explain {}.', outDir, model: 'm', imageRoot: fixtures, confine: true }).catch(async (err: { code?: string }) => {
          expect(err.code).toBe('E_NO_REQUESTS');
          const rejectsPath = path.join(outDir, 'rejects.jsonl');
          const total = (await readFile(rejectsPath, 'utf8')).split('\n').filter(Boolean).length;
          return { rows: total, requests: 0, rejects: { total }, rejectsPath };
        });
        const nonBlank = (await readFile(dataset, 'latin1')).split('\n').filter((l) => !/^[ \t\r]*$/.test(l)).length;
        expect(summary.rows).toBe(nonBlank);
        expect(summary.requests + summary.rejects.total).toBe(summary.rows);
        const rejects = (await readFile(summary.rejectsPath, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { code: string; line: number });
        expect(rejects).toHaveLength(summary.rejects.total);
        for (const r of rejects) expect(r.code).toMatch(/^E_[A-Z_]+$/);
        await rm(outDir, { recursive: true, force: true });
      }),
      { numRuns: 40 },
    );
    expect(await readdir(dir)).not.toContain('undefined');
  }, 120_000);

  it('merge: every dataset row comes out once, explained or with a reason, whatever the result files hold', async () => {
    const dir = await tempDir('be-fuzz-');
    const resultLine = (ids: string[]) =>
      fc.oneof(
        fc.constantFrom(...ids).map((id) => Buffer.from(okLine(id, explained(`for ${id}`)))),
        fc.tuple(fc.constantFrom(...ids), nasty).map(([id, content]) => Buffer.from(okLine(id, content))),
        fc.tuple(nasty, anyJson).map(([id, body]) => Buffer.from(JSON.stringify({ custom_id: id, response: { status_code: 200, body }, error: null }))),
        fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).filter((x) => x !== 10)),
      );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(datasetLine, { minLength: 1, maxLength: 20 }).chain((lines) => {
          const ids = ['a', 'ميم', '42', ...lines.map((l) => { try { return String((JSON.parse(l.toString()) as { id?: unknown }).id); } catch { return 'x'; } })];
          return fc.tuple(fc.constant(lines), fc.array(resultLine(ids), { maxLength: 30 }));
        }),
        async ([lines, results]) => {
          const dataset = path.join(dir, `d${run}.jsonl`);
          const resultsFile = path.join(dir, `r${run}.jsonl`);
          const output = path.join(dir, `m${run++}.jsonl`);
          await writeFile(dataset, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));
          await writeFile(resultsFile, Buffer.concat(results.flatMap((l) => [l, Buffer.from('\n')])));
          const summary = await merge({ dataset, results: [resultsFile], output, sortMemory: 4096 });
          const datasetLines = (await readFile(dataset)).toString('latin1').split('\n').filter((l) => !/^[ \t\r]*$/.test(l));
          const outLines = (await readFile(output)).toString('latin1').split('\n').filter((l) => l !== '');
          expect(summary.rows).toBe(datasetLines.length);
          // A line that is not a JSON object (or not UTF-8) goes to the errors file only; an object gains the field.
          const objects = datasetLines.filter((line) => {
            const bytes = Buffer.from(line, 'latin1');
            if (!isUtf8(bytes)) return false;
            try {
              const value: unknown = JSON.parse(bytes.toString('utf8'));
              return typeof value === 'object' && value !== null && !Array.isArray(value);
            } catch {
              return false;
            }
          });
          expect(outLines).toHaveLength(objects.length);
          // The output is JSONL any reader takes: every line a JSON object with the field.
          for (const out of outLines) expect(JSON.parse(Buffer.from(out, 'latin1').toString('utf8'))).toHaveProperty('generated_explanation');
          const missing = Object.values(summary.byReason).reduce((a, b) => a + b, 0);
          expect(summary.explained + missing).toBe(summary.rows);
          expect(summary.byReason.not_json ?? 0).toBe(datasetLines.length - objects.length);
          const errors = (await readFile(`${output}.errors.jsonl`, 'utf8')).split('\n').filter(Boolean);
          expect(errors).toHaveLength(missing);
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);

  it('build and merge agree on what a blank line is: only spaces, tabs and CR (a fuzz finding)', async () => {
    const dir = await tempDir('be-fuzz-');
    const dataset = path.join(dir, 'd.jsonl');
    await writeFile(dataset, '\v\n\u00a0\n \t\r\n{"id": "a", "img_path": "images/face.png", "class_label": "p"}\n');
    const built = await build({ dataset, template: 'Explain {}.', outDir: path.join(dir, 'out'), model: 'm', imageRoot: fixtures });
    expect(built).toMatchObject({ rows: 3, blankLines: 1, requests: 1, rejects: { total: 2 } });
    const merged = await merge({ dataset, results: [dataset], output: path.join(dir, 'm.jsonl'), rejectsPath: built.rejectsPath });
    expect(merged).toMatchObject({ rows: 3, explained: 0, byReason: { not_json: 2, no_result: 1 } });
  });
});

