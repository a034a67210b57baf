import { truncate } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { readJson } from '../../src/stages/read-json.js';
import { readDelimited } from '../../src/stages/read-delimited.js';
import { readParquet } from '../../src/stages/read-parquet.js';
import { fromString, rejectsCollector, toArray } from '../helpers/streams.js';
import { tempDir } from '../helpers/server.js';
import { hubParquet, memotion, mmhs150k } from '../helpers/datasets.js';

async function read(reader: (onReject: ReturnType<typeof rejectsCollector>['onReject']) => AsyncIterable<unknown> & { stats: { records: number; rejected: number } }) {
  const { rejects, onReject } = rejectsCollector();
  const source = reader(onReject);
  const records = await toArray(source);
  return { records, rejects, stats: source.stats };
}

describe('readJson', () => {
  const array = '\uFEFF[\n  {"id": "a", "text": "مصر أولاً"},\n  {"id": "b", "nested": {"x": [1, 2]}}\n]\n';

  it('streams an array of rows, numbering them, across any chunking (multi-byte characters split)', async () => {
    for (const size of [1, 2, 3, 7, 64]) {
      const { records, rejects } = await read((onReject) => readJson({ stream: fromString(array, size), onReject }));
      expect(rejects).toEqual([]);
      expect(records).toEqual([
        { line: 1, value: { id: 'a', text: 'مصر أولاً' } },
        { line: 2, value: { id: 'b', nested: { x: [1, 2] } } },
      ]);
    }
  });

  it('streams an object keyed by id (MMHS150K), each key beside its row', async () => {
    const dir = await tempDir('be-json-');
    const file = await mmhs150k(dir);
    const got = await read((onReject) => readJson({ path: file, onReject }));
    expect(got.records.map((r) => (r as { key: string }).key)).toEqual(['1114679353714016256', '1063020048816660480']);
    expect(got.stats).toMatchObject({ records: 2, rejected: 0 });
  });

  it('an array cut mid-way: the rows before it, then one reject naming the element where it broke; counts add up', async () => {
    const cut = '[{"id": "a"}, {"id": "b"}, {"id": "c", "te';
    const { records, rejects, stats } = await read((onReject) => readJson({ stream: fromString(cut, 5), name: 'cut.json', onReject }));
    expect(records.map((r) => (r as { line: number }).line)).toEqual([1, 2]);
    expect(rejects).toEqual([{ file: 'cut.json', line: 3, stage: 'readJson', code: 'E_BAD_JSON', message: expect.stringMatching(/cut off or malformed at element 3 of the array/) }]);
    expect(stats).toMatchObject({ records: 2, rejected: 1 });
  });

  it('an object whose value is not an object passes on with its key (validateRow rejects it with the record number)', async () => {
    const { records } = await read((onReject) => readJson({ stream: fromString('{"a": {"labels": [0]}, "b": 5, "c": [1]}', 4), onReject }));
    expect(records).toEqual([
      { line: 1, key: 'a', value: { labels: [0] } },
      { line: 2, key: 'b', value: 5 },
      { line: 3, key: 'c', value: [1] },
    ]);
  });

  it('a document of another shape is one reject; an empty one has no rows; a missing file is E_INPUT', async () => {
    const other = await read((onReject) => readJson({ stream: fromString('"rows"', 2), onReject }));
    expect(other.rejects).toEqual([expect.objectContaining({ line: 1, code: 'E_BAD_JSON', message: expect.stringMatching(/starts with "/) })]);
    expect((await read((onReject) => readJson({ stream: fromString('  \n', 1), onReject }))).stats).toMatchObject({ records: 0, rejected: 0 });
    await expect(read((onReject) => readJson({ path: '/nonexistent/x.json', onReject }))).rejects.toMatchObject({ code: 'E_INPUT', message: '/nonexistent/x.json: no such file' });
  });
});

describe('readDelimited', () => {
  it('reads Memotion\'s CSV: BOM, CRLF, an unnamed column, quoted multi-line fields, each row with the line it starts on', async () => {
    const dir = await tempDir('be-csv-');
    const file = await memotion(dir);
    const { records, rejects } = await read((onReject) => readDelimited({ path: file, onReject }));
    expect(rejects).toEqual([]);
    expect(records.map((r) => (r as { line: number }).line)).toEqual([2, 3, 6]); // the second row spans lines 3-5
    expect((records[1] as { value: Record<string, string> }).value).toMatchObject({ '': '1', image_name: 'image_2.jpeg', text_ocr: expect.stringContaining('#10 YearChallenge!\nCompleted'), offensive: 'very_offensive' });
    expect((records[2] as { value: Record<string, string> }).value.text_ocr).toContain('"10 year challenge"');
  });

  it('ragged rows are rejects with their lines, reading goes on; stray quotes are text; blank lines are counted; any chunking gives the same', async () => {
    const csv = 'id,label\na,x\n\nb\nc,y,z\n"d"e,y\nf,y\n';
    for (const size of [1, 3, 100]) {
      const { records, rejects, stats } = await read((onReject) => readDelimited({ stream: fromString(csv, size), name: 'd.csv', onReject }));
      expect(records).toEqual([
        { line: 2, value: { id: 'a', label: 'x' } },
        { line: 6, value: { id: '"d"e', label: 'y' } },
        { line: 7, value: { id: 'f', label: 'y' } },
      ]);
      expect(rejects.map((r) => [r.line, r.code, r.message.replace(/:.*/s, '')])).toEqual([
        [4, 'E_BAD_CSV', 'line 4'],
        [5, 'E_BAD_CSV', 'line 5'],
      ]);
      expect(rejects[0]!.message).toMatch(/1 fields where the header has 2 \("id", "label"\)/);
      expect(stats).toMatchObject({ records: 3, rejected: 2, blank: 1 });
    }
  });

  it('TSV takes stray quotes as text (MAMI); a quote never closed is one reject at its line', async () => {
    const tsv = 'file_name\tText Transcription\n1.jpg\tsays "hi\n2.jpg\tok\n';
    const { records } = await read((onReject) => readDelimited({ stream: fromString(tsv, 4), delimiter: '\t', onReject }));
    expect(records.map((r) => (r as { value: unknown }).value)).toEqual([{ file_name: '1.jpg', 'Text Transcription': 'says "hi' }, { file_name: '2.jpg', 'Text Transcription': 'ok' }]);
    const open = await read((onReject) => readDelimited({ stream: fromString('a,b\n1,2\n3,"never\n4,5\n', 3), onReject }));
    expect(open.records).toHaveLength(1);
    expect(open.rejects).toEqual([expect.objectContaining({ line: 3, code: 'E_BAD_CSV', message: expect.stringMatching(/Quote Not Closed/) })]);
  });

  it('a header naming a column twice fails the read, naming it', async () => {
    await expect(read((onReject) => readDelimited({ stream: fromString('a,a\n1,2\n', 8), name: 'h.csv', onReject }))).rejects.toMatchObject({ code: 'E_INPUT', message: 'h.csv: the header names the column "a" twice' });
  });
});

describe('readParquet', () => {
  it('reads row group by row group, images as bytes, each row numbered in the file', async () => {
    const dir = await tempDir('be-pq-');
    const file = await hubParquet(dir, undefined, 2);
    const { records, stats } = await read((onReject) => readParquet({ path: file, onReject }));
    expect(records.map((r) => (r as { line: number }).line)).toEqual([1, 2, 3]);
    const first = (records[0] as { value: { id: string; image: { bytes: Uint8Array; path: string } } }).value;
    expect(first.id).toBe('armeme-0001');
    expect(first.image.path).toBe('banner.jpg');
    expect(Buffer.from(first.image.bytes).subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
    expect(stats).toMatchObject({ records: 3, rejected: 0 });
  });

  it('reads a gzip-compressed file (the decoder loaded from hyparquet-compressors only then)', async () => {
    const dir = await tempDir('be-pq-gzip-');
    const file = await hubParquet(dir, undefined, 2, 'GZIP');
    const { parquetMetadataAsync, asyncBufferFromFile } = await import('hyparquet');
    expect((await parquetMetadataAsync(await asyncBufferFromFile(file))).row_groups[0]!.columns[0]!.meta_data!.codec).toBe('GZIP');
    const { records, rejects } = await read((onReject) => readParquet({ path: file, onReject }));
    expect(rejects).toEqual([]);
    expect(records.map((r) => (r as { value: { id: string } }).value.id)).toEqual(['armeme-0001', 'armeme-0002', 'armeme-0003']);
  });

  it('a truncated file fails with E_INPUT naming it, before any row; stdin is refused', async () => {
    const dir = await tempDir('be-pq-cut-');
    const file = await hubParquet(dir);
    await truncate(file, 300);
    await expect(read((onReject) => readParquet({ path: file, onReject }))).rejects.toMatchObject({ code: 'E_INPUT', message: expect.stringMatching(/not a readable Parquet file \(cut short/) });
    expect(() => readParquet({ path: '-', onReject: () => {} })).toThrow(/cannot come from stdin/);
  });

  it('a row group that cannot be decoded rejects each of its rows with row group and row; the others are read', async () => {
    const dir = await tempDir('be-pq-bad-');
    const file = await hubParquet(dir, undefined, 2);
    const { parquetMetadataAsync, asyncBufferFromFile } = await import('hyparquet');
    const meta = await parquetMetadataAsync(await asyncBufferFromFile(file));
    // Overwrite the first row group's column data (not the footer) with garbage.
    const col = meta.row_groups[0]!.columns[0]!.meta_data!;
    const { open } = await import('node:fs/promises');
    const fh = await open(file, 'r+');
    await fh.write(Buffer.alloc(Number(col.total_compressed_size), 0xff), 0, Number(col.total_compressed_size), Number(col.data_page_offset));
    await fh.close();
    const { records, rejects, stats } = await read((onReject) => readParquet({ path: file, name: 'hub.parquet', onReject }));
    expect(records.map((r) => (r as { line: number }).line)).toEqual([3]);
    expect(rejects.map((r) => [r.line, r.code, r.message.replace(/: the row group.*/s, '')])).toEqual([
      [1, 'E_BAD_PARQUET', 'row group 1, row 1 (row 1 of the file)'],
      [2, 'E_BAD_PARQUET', 'row group 1, row 2 (row 2 of the file)'],
    ]);
    expect(stats).toMatchObject({ records: 1, rejected: 2 });
  });
});

describe('DelimitedRows lines', () => {
  it('counts a CRLF inside a quoted field once (csv-parse counts it twice)', async () => {
    const csv = 'h1,h2\r\na,"x\r\ny"\r\n\r\nb,c\r\n';
    const { records } = await read((onReject) => readDelimited({ stream: fromString(csv, 3), onReject }));
    expect(records.map((r) => (r as { line: number }).line)).toEqual([2, 5]);
  });
});
