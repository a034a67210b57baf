/**
 * A merged dataset written as Parquet with hyparquet-writer, one row group at a time: rows are
 * gathered until a row group is full (by rows or by bytes), then encoded and handed on as bytes.
 * No I/O: the bytes go to a sink the caller gives.
 */
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';
import { BatchExplainError, optionError } from '../../errors.js';
import { columnNames, keyedRow, restoreValue, SchemaGuess, schemaTree, type SchemaNode } from './parquet-schema.js';

export interface ParquetOutputOptions {
  /** The output's schema, the explanation column included (parquet-schema.ts). */
  schema: SchemaElement[];
  /** The explanation's column; null: the rows as they are (a resubmission's rows). */
  field: string | null;
  /** The schema is the input Parquet file's: values are turned back into what its types store. Else it was guessed ({@link SchemaGuess}). */
  fromParquet: boolean;
  /** Receives the file's bytes in order, a piece at a time (a view: copy it to keep it). */
  sink: (bytes: Uint8Array) => void;
  /** Rows of a row group, at most. Default {@link DEFAULT_ROW_GROUP_ROWS}. */
  rowGroupRows?: number;
  /** Bytes of a row group's values (text, bytes, ~8 a number), at most about. Default {@link DEFAULT_ROW_GROUP_BYTES}. */
  rowGroupBytes?: number;
}

/** hyparquet-writer's own default for the row groups after the first (100,000) is too many rows held at once for text-heavy rows; 10,000 keeps a group of plain rows to a few MB. */
export const DEFAULT_ROW_GROUP_ROWS = 10_000;
/**
 * Rows with embedded images: a group is held about three times at the peak (its rows, the values
 * restored for the writer, its encoded pages): 8 MiB cost ~25 MB over a JSONL merge's peak RSS,
 * 16 MiB ~46 MB (bench/RESULTS.md). 8 MiB is ~55 memes of 150 kB, or 3,000 of 2.5 kB.
 */
export const DEFAULT_ROW_GROUP_BYTES = 8 * 1024 * 1024;
/** The encoder's buffer is handed on once it holds this much (hyparquet-writer's fileWriter does the same at 1 MB). */
const FLUSH_BYTES = 1 << 20;

/**
 * Writes rows as Parquet: `row` gathers, a full row group is encoded and its bytes go to the sink
 * at once (synchronously); `end` writes the last group and the footer. Memory: one row group's
 * rows and its encoded bytes.
 */
export class ParquetOutput {
  readonly #columns: string[];
  readonly #nodes: Map<string, SchemaNode>;
  readonly #schema: SchemaElement[];
  readonly #field: string | null;
  readonly #fromParquet: boolean;
  readonly #maxRows: number;
  readonly #maxBytes: number;
  readonly #writer: ParquetWriter;
  #rows: Record<string, unknown>[] = [];
  #bytes = 0;
  written = 0;

  constructor(options: ParquetOutputOptions) {
    this.#maxRows = options.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS;
    this.#maxBytes = options.rowGroupBytes ?? DEFAULT_ROW_GROUP_BYTES;
    if (!Number.isSafeInteger(this.#maxRows) || this.#maxRows < 1) throw optionError('rowGroupRows', options.rowGroupRows, 'a positive integer');
    if (!(this.#maxBytes > 0)) throw optionError('rowGroupBytes', options.rowGroupBytes, 'a positive number of bytes');
    this.#schema = options.schema;
    this.#field = options.field;
    this.#fromParquet = options.fromParquet;
    this.#columns = columnNames(options.schema);
    this.#nodes = new Map(schemaTree(options.schema).children.map((c) => [c.element.name, c]));
    const sink = options.sink;
    const bytes = new ByteWriter(FLUSH_BYTES * 2) as ByteWriter & { flush?: () => void };
    const grow = bytes.ensure.bind(bytes);
    const flush = () => {
      if (bytes.index > 0) sink(new Uint8Array(bytes.buffer, 0, bytes.index));
      bytes.index = 0;
    };
    // Hand the buffer on as it fills, as hyparquet-writer's fileWriter does, rather than let it hold the whole file.
    bytes.ensure = (size: number) => {
      if (bytes.index > FLUSH_BYTES) flush();
      grow(size);
    };
    bytes.finish = flush;
    bytes.flush = flush;
    this.#writer = new ParquetWriter({ writer: bytes as never, schema: options.schema as never, codec: 'SNAPPY' });
  }

  /** Adds a merged row (`key`: its key in a JSON object keyed by id, given as `id` when the row has none). */
  row(value: unknown, explanation: string | null, key?: string): void {
    const row = this.#field === null ? keyedRow(value, key) : { ...keyedRow(value, key), [this.#field]: explanation };
    const out = this.#fromParquet ? this.#restore(row) : SchemaGuess.restore(this.#schema, row);
    this.#rows.push(out);
    this.#bytes += sizeOf(row);
    if (this.#rows.length >= this.#maxRows || this.#bytes >= this.#maxBytes) this.#group();
  }

  /** Writes the last row group and the footer. */
  end(): void {
    // A file of no rows has its schema and no row group.
    if (this.#rows.length > 0) this.#group();
    void this.#writer.finish();
  }

  #restore(row: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const name of this.#columns) out[name] = restoreValue(this.#nodes.get(name)!, row[name]);
    return out;
  }

  #group(): void {
    const rows = this.#rows;
    this.#rows = [];
    this.#bytes = 0;
    const columnData = this.#columns.map((name) => ({ name, data: rows.map((r) => r[name]) }));
    try {
      void this.#writer.write({ columnData: columnData as never, rowGroupSize: rows.length });
    } catch (err) {
      // A value the column's type cannot hold (the guess was made from every row, so rare): say where, not a stack.
      throw new BatchExplainError('E_OUTPUT', `the rows ${this.written + 1} to ${this.written + rows.length} cannot be written as Parquet: ${(err as Error).message}; write JSONL (--output x.jsonl) instead`, { cause: err });
    }
    this.written += rows.length;
  }
}

/** A row's size, about: its text and bytes, 8 a number, walked through objects and arrays. */
export function sizeOf(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (value instanceof Uint8Array) return value.byteLength;
  if (value === null || typeof value !== 'object') return 8;
  let n = 16;
  for (const v of Array.isArray(value) ? value : Object.values(value)) n += sizeOf(v);
  return n;
}
