import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addResultFiles, cutPartialLastLine, DoneIds } from '../../../src/core/direct/done-ids.js';
import { tempDir } from '../../helpers/server.js';

/** A success line as direct mode writes it. */
function line(id: string, n = 0): string {
  return `{"id":"direct_req_${n.toString(16).padStart(24, '0')}","custom_id":${JSON.stringify(id)},"response":{"status_code":200,"request_id":"r","body":{"choices":[]}},"error":null}`;
}

async function resultFile(lines: string[], name = 'direct-1.output.jsonl'): Promise<string> {
  const file = path.join(await tempDir('be-done-'), name);
  await writeFile(file, lines.map((l) => `${l}\n`).join(''));
  return file;
}

describe('DoneIds', () => {
  it('holds the ids of result files, plain or escaped, and no other', async () => {
    const ids = ['a', 'armeme-0001', 'quote "q"', 'back\\slash', 'tab\there', 'عربي', '😀', '12'];
    const file = await resultFile(ids.map((id, i) => line(id, i)));
    const done = new DoneIds();
    expect(addResultFiles(done, [file])).toEqual({ added: ids.length, unreadable: 0 });
    for (const id of ids) expect(done.has(id), id).toBe(true);
    for (const id of ['b', 'armeme-0002', 'quote "Q"', 'back\\\\slash', 'tab here', 'عرب', '1', '123', '']) expect(done.has(id), id).toBe(false);
    expect(done.size).toBe(ids.length);
    done.close();
  });

  it('tells ids apart whose fingerprints collide, by their bytes on disk', async () => {
    const ids = Array.from({ length: 300 }, (_, i) => `row-${i}`);
    const file = await resultFile(ids.map((id, i) => line(id, i)));
    const done = new DoneIds({ hash: () => 42 }); // every id gets the same fingerprint
    addResultFiles(done, [file]);
    for (const id of ids) expect(done.has(id)).toBe(true);
    for (let i = 300; i < 400; i++) expect(done.has(`row-${i}`)).toBe(false);
    expect(done.has('row-1 ')).toBe(false);
    done.close();
  });

  it('grows as ids come, within 32 bytes per id, across several files', async () => {
    const files = [];
    for (let f = 0; f < 3; f++) files.push(await resultFile(Array.from({ length: 20_000 }, (_, i) => line(`f${f}-${i}`, i)), `direct-${f + 1}.output.jsonl`));
    const done = new DoneIds({ capacity: 16 });
    addResultFiles(done, files);
    expect(done.size).toBe(60_000);
    expect(done.bytes).toBeLessThanOrEqual(32 * done.size);
    for (let f = 0; f < 3; f++) for (let i = 0; i < 20_000; i += 97) expect(done.has(`f${f}-${i}`)).toBe(true);
    expect(done.has('f3-0')).toBe(false);
    done.close();
  });

  it('reads lines of another shape by their literal, and leaves out lines without an id', async () => {
    const file = await resultFile([
      '{"custom_id":"first","id":"x","response":{"status_code":200}}',
      '{ "id": "y", "custom_id": "spaced" }',
      '{"id":"z","custom_id":"\\u0041scii-escaped"}', // not as JSON.stringify writes it: left out, sent again
      'not json',
      '{"id":"no-custom-id"}',
      '',
      line('plain'),
    ]);
    const done = new DoneIds();
    expect(addResultFiles(done, [file])).toEqual({ added: 3, unreadable: 3 });
    for (const id of ['first', 'spaced', 'plain']) expect(done.has(id), id).toBe(true);
    expect(done.has('Ascii-escaped')).toBe(false);
    done.close();
  });
});

describe('cutPartialLastLine', () => {
  it('cuts a last line without its newline, and only that', async () => {
    const dir = await tempDir('be-cut-');
    // [name, complete lines, what a killed write left after them]
    const cases: Array<[string, string, string]> = [
      ['complete', 'a\nb\n', ''],
      ['partial', 'a\nb\n', '{"id":"direct_req_1","cust'],
      ['only partial', '', '{"id":'],
      ['empty', '', ''],
      ['long partial', 'a\n', 'x'.repeat(200_000)],
      ['long lines', `${'y'.repeat(100_000)}\n`, 'z'.repeat(70_000)],
    ];
    for (const [name, kept, partial] of cases) {
      const file = path.join(dir, `${name}.jsonl`);
      await writeFile(file, kept + partial);
      expect(cutPartialLastLine(file), name).toBe(partial.length);
      expect(await readFile(file, 'utf8'), name).toBe(kept);
    }
  });
});
