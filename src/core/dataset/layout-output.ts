/**
 * A merged row written back in its dataset's own layout: JSONL, CSV/TSV (one more column), or
 * one JSON document (an array, or an object keyed by id as it came). Pure formatting, no I/O.
 */
import { stringify } from 'csv-stringify/sync';
import type { DatasetFormat } from './formats.js';

export type OutputFormat = 'jsonl' | 'csv' | 'tsv' | 'json' | 'parquet';

/**
 * The merged output's format: the one the output's name says (`.json`, `.jsonl`, `.csv`,
 * `.tsv`, `.parquet`: written by parquet-output.ts), else the dataset's own for CSV/TSV and JSONL for the rest (JSON and Parquet).
 */
export function outputFormatOf(output: string, input: DatasetFormat): OutputFormat {
  const lower = output.toLowerCase();
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  if (lower.endsWith('.json')) return 'json';
  if (lower.endsWith('.csv')) return input === 'tsv' ? 'tsv' : 'csv';
  if (lower.endsWith('.tsv')) return 'tsv';
  if (lower.endsWith('.parquet')) return 'parquet';
  return input === 'csv' || input === 'tsv' ? input : 'jsonl';
}

/**
 * Bytes (an embedded image) as JSON: base64 text. The value is taken from its holder: a Buffer
 * (what the Parquet reader gives) has already become `{"type": "Buffer", "data": [...]}` by its
 * `toJSON` when the replacer is called.
 */
function bytesAsBase64(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  return raw instanceof Uint8Array ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') : value;
}

/**
 * Writes rows one at a time in a text format; `end` closes them. `field`: the explanation's
 * column, or null for the rows as they are (a resubmission's rows, in their dataset's format).
 */
export class LayoutWriter {
  readonly #format: Exclude<OutputFormat, 'parquet'>;
  readonly #field: string | null;
  #rows = 0;
  #columns: readonly string[] | null = null;

  constructor(format: Exclude<OutputFormat, 'parquet'>, field: string | null) {
    this.#format = format;
    this.#field = field;
  }

  /** The text of one merged row (`key`: its key in a JSON object keyed by id). */
  row(value: unknown, explanation: string | null, key?: string): string {
    const n = this.#rows++;
    const plain = typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array) ? (value as Record<string, unknown>) : { value };
    const field = this.#field;
    const row = field === null ? plain : { ...plain, [field]: explanation };
    switch (this.#format) {
      case 'jsonl':
        // A row of an object keyed by id gets its key as `id` (unless it has one), so the line says whose it is.
        return `${JSON.stringify({ ...(key !== undefined && !Object.hasOwn(row, 'id') ? { id: key } : {}), ...row }, bytesAsBase64)}\n`;
      case 'json': {
        const text = JSON.stringify(row, bytesAsBase64);
        const open = n === 0 ? (key === undefined ? '[\n' : '{\n') : ',\n';
        return key === undefined ? `${open}  ${text}` : `${open}  ${JSON.stringify(key)}: ${text}`;
      }
      case 'csv':
      case 'tsv': {
        let head = '';
        if (this.#columns === null) {
          this.#columns = Object.keys(plain).filter((c) => c !== field);
          head = this.#line(field === null ? [...this.#columns] : [...this.#columns, field]);
        }
        const cells = this.#columns.map((c) => String(plain[c] ?? ''));
        return head + this.#line(field === null ? cells : [...cells, explanation ?? '']);
      }
    }
  }

  /** What ends the output (a JSON document's closing bracket; `keyed`: the rows came with keys). */
  end(keyed: boolean): string {
    if (this.#format !== 'json') return '';
    if (this.#rows === 0) return keyed ? '{}\n' : '[]\n';
    return keyed ? '\n}\n' : '\n]\n';
  }

  #line(fields: string[]): string {
    return stringify([fields], { delimiter: this.#format === 'tsv' ? '\t' : ',', record_delimiter: '\n' });
  }
}
