import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { composeStages, externalSort, merge, mergeIntoDataset, mergeJoin, readJsonl, readResults, type MergedRow, type ResultRecord, type RowOutcome } from '../../src/index.js';
import { tempDir } from '../helpers/server.js';
import { explained, expiredLine, httpErrorLine, okLine, writeLines } from '../helpers/results.js';

// The library's reverse stages, composed by a user in a stream/promises pipeline (result lines
// read → sorted by id → merge-joined with the dataset's ids, sorted → back to dataset order →
// spliced into the dataset's own bytes), give what the CLI's merge gives, byte for byte.

const resultKind = fc.oneof(
  fc.string({ maxLength: 12 }).map((t) => (id: string) => okLine(id, explained(` ${t} for ${id}`))),
  fc.constant((id: string) => okLine(id, '{"explanation": "cut', 'length')),
  fc.constant((id: string) => httpErrorLine(id, 500, 'server_error', 'boom')),
  fc.constant((id: string) => expiredLine(id)),
);

const rowKind = fc.record({
  id: fc.oneof(fc.constantFrom('a', 'b', 'q"uote', 'ميم/١', '😂', ' '), fc.string({ minLength: 1, maxLength: 5 }), fc.nat(20), fc.constant(null)),
  shape: fc.constantFrom('compact', 'spaced', 'blank', 'not json'),
  results: fc.array(fc.record({ kind: resultKind, file: fc.nat(2) }), { maxLength: 3 }),
});

/** The dataset's id rule (validateRow's): a non-blank string, or a safe integer as its text. */
function idOf(value: unknown): string | null {
  const id = (value as { id?: unknown } | null)?.id;
  if (typeof id === 'string') return id.trim() === '' ? null : id;
  if (typeof id === 'number' && Number.isSafeInteger(id)) return String(id);
  return null;
}

/** The merge as a library user composes it from the exported stages. */
async function mergeByStages(dataset: string, files: string[], output: string, tmpDir: string): Promise<Array<{ line: number; reason: string }>> {
  const missing: Array<{ line: number; reason: string }> = [];
  const sources = async function* () {
    for (const [order, file] of files.entries()) yield { path: file, order };
  };
  const results = externalSort<ResultRecord>({ key: (r) => r.id, tmpDir })(readResults()(sources()));
  // pipeline()'s typings stop at four transforms: the five stages go in as one (composeStages).
  await pipeline(
    async function* () {
      for await (const r of readJsonl({ path: dataset, onReject: () => {} }) as AsyncIterable<{ line: number; value: unknown }>) {
        const id = idOf(r.value);
        if (id !== null) yield { line: r.line, id };
      }
    },
    composeStages(
      externalSort<{ line: number; id: string }>({ key: (r) => r.id, tmpDir }),
      mergeJoin<{ line: number; id: string }, ResultRecord, RowOutcome>({
        right: results,
        leftKey: (r) => r.id,
        rightKey: (r) => r.id,
        join: (id, rows, answers): RowOutcome[] => {
          if (rows.length > 1) return rows.map((r) => ({ line: r.line, id, explanation: null, reason: 'duplicate_id' }));
          const row = rows[0]!;
          // A success wins, then the newest.
          const best = [...answers].sort((x, y) => Number(x.explanation !== null) - Number(y.explanation !== null) || x.order - y.order).at(-1);
          if (!best) return [{ line: row.line, id, explanation: null, reason: 'no_result' }];
          return [best.explanation !== null ? { line: row.line, id, explanation: best.explanation } : { line: row.line, id, explanation: null, reason: best.error!.reason }];
        },
      }),
      externalSort<RowOutcome>({ key: (o) => o.line, tmpDir }),
      mergeIntoDataset({ dataset }),
      async function* (rows: AsyncIterable<MergedRow>) {
        for await (const row of rows) {
          if (row.missing) missing.push({ line: row.line, reason: row.missing.reason });
          if (!row.dropped) yield Buffer.concat([...row.parts, Buffer.from('\n')]);
        }
      },
    ),
    createWriteStream(output),
  );
  return missing;
}

describe('the reverse stages composed in a pipeline', () => {
  it('give the merge\'s output byte for byte, and the same rows without an explanation, for the same reasons', async () => {
    const dir = await tempDir('be-merge-stages-');
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(rowKind, { maxLength: 25 }), async (rows) => {
        const at = path.join(dir, String(run++));
        await mkdir(at, { recursive: true });
        const lines: string[] = [];
        const files: string[][] = [[], [], []];
        for (const [i, r] of rows.entries()) {
          const body = r.id === null ? { text: `row ${i}` } : { id: r.id, text: `نص ${i}` };
          if (r.shape === 'blank') lines.push('');
          else if (r.shape === 'not json') lines.push(`not json ${i}`);
          else lines.push(r.shape === 'spaced' ? JSON.stringify(body, null, 1).replaceAll('\n', '') : JSON.stringify(body));
          const id = r.shape === 'compact' || r.shape === 'spaced' ? idOf(JSON.parse(lines.at(-1)!)) : null;
          if (id !== null) for (const res of r.results) files[res.file]!.push(res.kind(id));
        }
        const dataset = await writeLines(path.join(at, 'data.jsonl'), lines);
        const paths: string[] = [];
        for (const [k, f] of files.entries()) {
          paths.push(await writeLines(path.join(at, `batch_${k}.output.jsonl`), f));
          await utimes(paths[k]!, 1000 + k, 1000 + k);
        }
        const bystages = await mergeByStages(dataset, paths, path.join(at, 'stages.jsonl'), at);
        // The same files, oldest first, named in that order (the merge orders named files by time, then name).
        await merge({ dataset, results: paths, output: path.join(at, 'merge.jsonl'), tmpDir: at });
        expect(await readFile(path.join(at, 'stages.jsonl'), 'utf8')).toBe(await readFile(path.join(at, 'merge.jsonl'), 'utf8'));
        const errors = (await readFile(path.join(at, 'merge.jsonl.errors.jsonl'), 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { line: number; reason: string });
        expect(bystages).toEqual(errors.map((e) => ({ line: e.line, reason: e.reason })));
        await rm(at, { recursive: true });
      }),
      { numRuns: 40 },
    );
  });
});
