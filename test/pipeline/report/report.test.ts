import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { report } from '../../../src/pipeline/report/report.js';
import { tempDir } from '../../helpers/server.js';
import { generateMerged, lowerMedian } from '../../../bench/gen-merged.mjs';

const fixtures = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const merged = path.join(fixtures, 'merged.jsonl');
const errors = path.join(fixtures, 'merged.jsonl.errors.jsonl');

/** Words as a reader counts them, independently of the module: whitespace-separated pieces holding a letter or digit (or an emoji). */
function countWords(text: string): number {
  return text.split(/\s+/).filter((w) => /[\p{L}\p{N}\p{Extended_Pictographic}]/u.test(w)).length;
}

describe('report on the fixtures', () => {
  it('counts rows, reasons, flags and labels exactly', async () => {
    const r = await report({ input: merged, errors, script: 'arabic' });
    expect(r).toMatchObject({ rows: 16, explained: 12, missing: 4, flaggedRows: 12, errors });
    expect(r.byReason).toEqual({ not_sent: 2, api_error: 1, truncated: 1 });
    expect(r.byFlag).toEqual({ missing: 4, too_short: 1, too_long: 1, wrong_language: 1, mentions_reclassification: 2, not_plain_text: 1, duplicate_text: 2 });
    expect(r.duplicates).toMatchObject({ groups: 1, rows: 2, untrackedRows: 0 });
    expect(r.topRepeated).toHaveLength(1);
    expect(r.topRepeated[0]).toMatchObject({ count: 2, firstId: 'armeme-0008' });
    // Medians and the histogram against word counts made here from the file itself.
    const rows = (await readFile(merged, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    const byLabel = new Map<string, number[]>();
    const all: number[] = [];
    for (const row of rows) {
      if (typeof row?.generated_explanation !== 'string') continue;
      const label = Array.isArray(row.class_label) ? row.class_label.join(', ') : row.class_label;
      const n = countWords(row.generated_explanation);
      all.push(n);
      byLabel.set(label, [...(byLabel.get(label) ?? []), n]);
    }
    for (const l of r.byLabel) expect(l.medianWords, l.label).toBe(lowerMedian(byLabel.get(l.label) ?? []));
    expect(r.byLabel.map((l) => [l.label, l.rows, l.explained])).toEqual([
      ['propaganda', 7, 5],
      ['not-hateful', 3, 3],
      ['not-propaganda', 3, 2],
      ['(none)', 1, 0],
      ['hateful', 1, 1],
      ['propaganda, loaded language', 1, 1],
    ]);
    expect(r.words).toMatchObject({ min: Math.min(...all), max: Math.max(...all), median: lowerMedian(all) });
    for (const bin of r.wordHistogram) {
      expect(bin.rows).toBe(all.filter((n) => n >= bin.from && (bin.to === null || n <= bin.to)).length);
    }
  });

  it('without a prompt language, wrong_language is not checked; without an errors file, reasons are unknown', async () => {
    const r = await report({ input: merged });
    expect(r.byFlag.wrong_language).toBe(0);
    expect(r.checks.script).toBeNull();
    expect(r.byReason).toEqual({ unknown: 4 });
  });

  it('writes the ids of flagged rows in file order, the first row of a repeated text included', async () => {
    const dir = await tempDir('be-report-');
    const flagged = path.join(dir, 'flagged.jsonl');
    const r = await report({ input: merged, errors, script: 'arabic', flagged });
    const lines = (await readFile(flagged, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.id)).toEqual(['armeme-0003', '4', 'hm-42953', 'hm-77140', 'armeme-0008', 'armeme-0009', 'armeme-0010', 'armeme-0011', 'armeme-0013', 'armeme-0014']);
    expect(lines[4]).toEqual({ id: 'armeme-0008', flags: ['duplicate_text'] });
    // The not_sent row and the line that is no row are left out, and counted.
    expect(r.flagged).toEqual({ path: flagged, ids: 10, withoutId: 1, notResubmittable: 1 });
    const dupOnly = await report({ input: merged, errors, flagged, flaggedFlags: ['duplicate_text'] });
    expect((await readFile(flagged, 'utf8')).trim().split('\n')).toEqual(['{"id":"armeme-0008","flags":["duplicate_text"]}', '{"id":"armeme-0009","flags":["duplicate_text"]}']);
    expect(dupOnly.flagged?.ids).toBe(2);
  });

  it('a first row already flagged gets duplicate_text added, once', async () => {
    const dir = await tempDir('be-report-');
    const input = path.join(dir, 'm.jsonl');
    const line = (id: string, ex: string | null) => JSON.stringify({ id, class_label: 'propaganda', generated_explanation: ex });
    await writeFile(input, [line('a', 'too short'), line('b', 'fine '.repeat(50)), line('c', 'Too  SHORT'), line('d', null), line('e', 'too short')].join('\n') + '\n');
    const flagged = path.join(dir, 'f.jsonl');
    const r = await report({ input, flagged });
    expect((await readFile(flagged, 'utf8')).trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { id: 'a', flags: ['too_short', 'duplicate_text'] },
      { id: 'c', flags: ['too_short', 'duplicate_text'] },
      { id: 'd', flags: ['missing'] },
      { id: 'e', flags: ['too_short', 'duplicate_text'] },
    ]);
    expect(r.byFlag.duplicate_text).toBe(3);
    expect(r.flaggedRows).toBe(4);
  });

  it("rows whose id the dataset's rule refuses (empty, not a safe integer) have none: counted without an id, never written", async () => {
    const dir = await tempDir('be-report-');
    const input = path.join(dir, 'm.jsonl');
    const line = (id: string, ex: string | null) => `{"id": ${id}, "class_label": "p", "generated_explanation": ${JSON.stringify(ex)}}`;
    await writeFile(input, [line('""', 'same text'), line('1.5', 'same text'), line('9007199254740993', null), line('12', null), line('"  "', 'same text')].join('\n') + '\n');
    const flagged = path.join(dir, 'f.jsonl');
    const r = await report({ input, flagged, minWords: 0 });
    expect(r.flagged).toMatchObject({ ids: 1, withoutId: 4 });
    expect(await readFile(flagged, 'utf8')).toBe('{"id":"12","flags":["missing"]}\n');
    expect(r.topRepeated[0]).toMatchObject({ count: 3, firstId: null });
  });

  it("refuses another merge's errors file, naming both files and lines", async () => {
    const dir = await tempDir('be-report-');
    const wrong = path.join(dir, 'e.jsonl');
    await writeFile(wrong, '{"line":10,"id":"someone-else","reason":"api_error","message":"x"}\n');
    await expect(report({ input: merged, errors: wrong })).rejects.toThrow(/e\.jsonl line 1 is for id "someone-else", but the matching row without an explanation, .*merged\.jsonl line 10, has id "armeme-0010"/);
    const short = path.join(dir, 's.jsonl');
    await writeFile(short, (await readFile(errors, 'utf8')).split('\n').slice(0, 2).join('\n') + '\n');
    await expect(report({ input: merged, errors: short })).rejects.toThrow(/s\.jsonl ends after 2 entries, but .*merged\.jsonl line 12 \(id "armeme-0012"\) has no explanation either/);
    const long = path.join(dir, 'l.jsonl');
    await writeFile(long, `${await readFile(errors, 'utf8')}{"line":99,"id":"x","reason":"no_result","message":"x"}\n`);
    await expect(report({ input: merged, errors: long })).rejects.toThrow(/l\.jsonl line 5 \(id "x"\) matches no row without an explanation/);
    await expect(report({ input: path.join(dir, 'missing.jsonl') })).rejects.toThrow(/missing\.jsonl: cannot be read as a merged file \(ENOENT\)/);
    await expect(report({ input: merged, flaggedFlags: ['bogus' as never] })).rejects.toThrow(/option flaggedFlags: expected one of missing, /);
  });
});

describe('report on a generated 100,000-row file', () => {
  it('finds exactly what the generator wrote', { timeout: 180_000 }, async () => {
    const dir = await tempDir('be-report-100k-');
    const input = path.join(dir, 'merged.jsonl');
    const truth = (await generateMerged({ rows: 100_000, out: input })) as Awaited<ReturnType<typeof generateMerged>> & { byReason: Record<string, number> };
    const flagged = path.join(dir, 'flagged.jsonl');
    const r = await report({ input, errors: `${input}.errors.jsonl`, script: 'arabic', flagged });
    expect(r.rows).toBe(truth.rows);
    expect(r.explained).toBe(truth.explained);
    expect(r.byReason).toEqual(truth.byReason);
    expect(r.byFlag).toEqual(truth.byFlag);
    expect(r.flaggedRows).toBe(truth.flaggedRows);
    for (const l of r.byLabel) {
      const t = truth.labels[l.label as keyof typeof truth.labels]!;
      expect([l.rows, l.explained, l.medianWords], l.label).toEqual([t.rows, t.explained, lowerMedian(t.words)]);
    }
    expect(r.words.median).toBe(lowerMedian(truth.words));
    expect(r.words.max).toBe(Math.max(...truth.words));
    for (const bin of r.wordHistogram) expect(bin.rows).toBe(truth.words.filter((n: number) => n >= bin.from && (bin.to === null || n <= bin.to)).length);
    // 50 texts given to 100 rows each: the ten listed are the first ten to appear.
    expect(r.topRepeated.map((t) => [t.count, t.firstId])).toEqual([...truth.dupFirst.entries()].slice(0, 10).map(([k, id]: [number, string]) => [truth.dupCount[k], id]));
    // Every flagged row but the not_sent ones is in the ids file, once, in order.
    const ids = (await readFile(flagged, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).id as string);
    expect(ids.length).toBe(truth.flaggedRows - truth.byReason.not_sent!);
    expect(r.flagged).toMatchObject({ ids: ids.length, notResubmittable: truth.byReason.not_sent!, withoutId: 0 });
    const numbers = ids.map((id) => Number(id.slice(4)));
    expect(numbers.every((n, i) => i === 0 || n > numbers[i - 1]!)).toBe(true);
    expect(numbers.every((n) => n % 20 <= 6)).toBe(true);
  });
});
