import { describe, expect, it } from 'vitest';
import { parquetMetadata, parquetReadObjects, type SchemaElement } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { ParquetOutput } from '../../../src/core/dataset/parquet-output.js';
import { keyedRow, restoreValue, SchemaGuess, schemaTree, schemaWithExplanation } from '../../../src/core/dataset/parquet-schema.js';
import { plainValue } from '../../../src/core/dataset/parquet-rows.js';

/** Rows through a ParquetOutput into one buffer; `pieces` counts the sink's calls. */
function write(schema: SchemaElement[], fromParquet: boolean, rows: Array<[unknown, string | null, string?]>, options: { rowGroupRows?: number; rowGroupBytes?: number } = {}) {
  const chunks: Buffer[] = [];
  const out = new ParquetOutput({ schema, field: 'e', fromParquet, sink: (b) => chunks.push(Buffer.from(b)), ...options });
  for (const [value, explanation, key] of rows) out.row(value, explanation, key);
  out.end();
  const buf = Buffer.concat(chunks);
  return { file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer, pieces: chunks.length };
}

const read = async (file: ArrayBuffer) => (await parquetReadObjects({ file, utf8: false })).map((r) => plainValue(r));

/** A Hugging Face shard's kind of schema, and types the reader turns into other JS values: INT64, a date, a list, a map. */
const HUB: SchemaElement[] = [
  { name: 'schema', num_children: 7 },
  { name: 'id', type: 'INT64', repetition_type: 'REQUIRED' },
  { name: 'text', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
  { name: 'image', repetition_type: 'OPTIONAL', num_children: 2 },
  { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
  { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
  { name: 'label', type: 'INT64', repetition_type: 'OPTIONAL' },
  { name: 'day', type: 'INT32', converted_type: 'DATE', repetition_type: 'OPTIONAL' },
  { name: 'votes', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', type: 'INT32', repetition_type: 'OPTIONAL' },
  { name: 'meta', repetition_type: 'OPTIONAL', converted_type: 'MAP', num_children: 1 },
  { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
  { name: 'key', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'value', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
];

describe('ParquetOutput: a merged dataset as Parquet', () => {
  it('a Parquet dataset read as the pipeline reads it, written back with its schema and one more column: the same rows, image bytes whole', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 1, 2, 255]);
    const input = parquetWriteBuffer({
      schema: HUB as never,
      columnData: [
        { name: 'id', data: [1n, 9007199254740993n] },
        { name: 'text', data: ['مصر أولاً', null] },
        { name: 'image', data: [{ bytes: png, path: 'a.png' }, null] },
        { name: 'label', data: [0n, 1n] },
        { name: 'day', data: [new Date('2024-02-29T00:00:00Z'), null] },
        { name: 'votes', data: [[1, 2, 2], []] },
        { name: 'meta', data: [{ source: 'fb' }, null] },
      ],
    });
    // As read-parquet.ts gives them: bigints as numbers or text, dates as ISO text, bytes as Buffers.
    const rows = (await read(input)) as Record<string, unknown>[];
    expect(rows[1]!.id).toBe('9007199254740993');
    expect(rows[0]!.day).toBe('2024-02-29T00:00:00.000Z');
    const schema = schemaWithExplanation(parquetMetadata(input).schema, 'e');
    const { file } = write(schema, true, [[rows[0], 'because'], [rows[1], null]]);
    expect(parquetMetadata(file).schema.map((e) => e.name)).toEqual([...HUB.map((e) => e.name), 'e']);
    const back = (await read(file)) as Record<string, unknown>[];
    expect(back).toEqual([
      { ...rows[0], e: 'because' },
      { ...rows[1], e: null },
    ]);
    expect(Buffer.compare((back[0]!.image as { bytes: Buffer }).bytes, png)).toBe(0);
  });

  it('a column named as the explanation (an earlier merge) is replaced, not doubled; INT96 becomes INT64 milliseconds', () => {
    const schema = schemaWithExplanation([{ name: 's', num_children: 3 }, { name: 'e', type: 'BYTE_ARRAY' }, { name: 't', type: 'INT96' }, { name: 'x', type: 'INT32' }], 'e');
    expect(schema).toEqual([
      { name: 's', num_children: 3 },
      { name: 't', type: 'INT64', converted_type: 'TIMESTAMP_MILLIS' },
      { name: 'x', type: 'INT32' },
      { name: 'e', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    ]);
    expect(restoreValue(schemaTree(schema).children[0]!, '2020-01-01T00:00:00.000Z')).toEqual(new Date('2020-01-01T00:00:00Z'));
  });

  it('rows of a JSON or CSV dataset: the schema guessed from every row (columns seen late, mixed kinds as JSON), a keyed row gets its key as id', async () => {
    const rows: Array<[unknown, string | null, string?]> = [
      [{ labels: [4, 1, 3], n: 1, big: 2 ** 40, x: 0.5, ok: true, label: 0 }, 'a', '1114679353714016256'],
      [{ labels: [0], n: 2, big: 3, x: 1, ok: false, label: 'hateful', late: 'seen only here' }, null, '1063020048816660480'],
    ];
    const guess = new SchemaGuess();
    for (const [value, , key] of rows) guess.observe(keyedRow(value, key));
    const schema = guess.schema('e');
    expect(schema.slice(1).map((e) => [e.name, e.type, e.converted_type])).toEqual([
      ['id', 'BYTE_ARRAY', 'UTF8'],
      ['labels', 'BYTE_ARRAY', 'JSON'],
      ['n', 'INT32', undefined],
      ['big', 'INT64', undefined],
      ['x', 'DOUBLE', undefined],
      ['ok', 'BOOLEAN', undefined],
      ['label', 'BYTE_ARRAY', 'JSON'],
      ['late', 'BYTE_ARRAY', 'UTF8'],
      ['e', 'BYTE_ARRAY', 'UTF8'],
    ]);
    const back = await read(write(schema, false, rows).file);
    expect(back).toEqual([
      { id: '1114679353714016256', labels: [4, 1, 3], n: 1, big: 2 ** 40, x: 0.5, ok: true, label: 0, late: null, e: 'a' },
      { id: '1063020048816660480', labels: [0], n: 2, big: 3, x: 1, ok: false, label: 'hateful', late: 'seen only here', e: null },
    ]);
  });

  it('row groups are bounded by rows and by bytes, and each goes to the sink as it is made', async () => {
    const schema = new SchemaGuess();
    schema.observe({ id: 'x', blob: new Uint8Array(1) });
    const rows = Array.from({ length: 10 }, (_, i): [unknown, string | null] => [{ id: `r${i}`, blob: new Uint8Array(1000).fill(i) }, `e${i}`]);
    const byRows = write(schema.schema('e'), false, rows, { rowGroupRows: 4 });
    expect(parquetMetadata(byRows.file).row_groups.map((g) => Number(g.num_rows))).toEqual([4, 4, 2]);
    expect(byRows.pieces).toBeGreaterThanOrEqual(3);
    const byBytes = write(schema.schema('e'), false, rows, { rowGroupBytes: 2500 });
    expect(parquetMetadata(byBytes.file).row_groups.map((g) => Number(g.num_rows))).toEqual([3, 3, 3, 1]);
    const back = (await read(byBytes.file)) as Array<{ id: string; blob: Buffer; e: string }>;
    expect(back.map((r) => [r.id, r.blob.length, r.blob[0], r.e])).toEqual(rows.map(([v, e], i) => [(v as { id: string }).id, 1000, i, e]));
    expect(() => new ParquetOutput({ schema: schema.schema('e'), field: 'e', fromParquet: false, sink: () => {}, rowGroupRows: 0 })).toThrow(/rowGroupRows/);
  });

  it('a value its column cannot hold fails with E_OUTPUT naming the rows, not a stack', () => {
    const schema: SchemaElement[] = [{ name: 's', num_children: 2 }, { name: 'n', type: 'INT32', repetition_type: 'REQUIRED' }, { name: 'e', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }];
    const out = new ParquetOutput({ schema, field: 'e', fromParquet: false, sink: () => {}, rowGroupRows: 2 });
    out.row({ n: 1 }, 'a');
    expect(() => out.row({ n: null }, 'b')).toThrow(expect.objectContaining({ code: 'E_OUTPUT', message: expect.stringMatching(/^the rows 1 to 2 cannot be written as Parquet: /) }));
  });

  it('no rows: a file of the columns and no row group', async () => {
    const guess = new SchemaGuess();
    const { file } = write(guess.schema('e'), false, []);
    expect(parquetMetadata(file).schema.map((e) => e.name)).toEqual(['schema', 'e']);
    expect(await read(file)).toEqual([]);
  });
});
