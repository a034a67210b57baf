/**
 * What a dataset looks like from its first bytes: its format and the fields of its first rows. For
 * the message of a build in which no row became a request (a dataset in another layout or format).
 */

export type SniffedFormat = 'empty' | 'jsonl' | 'json-array' | 'json-object' | 'csv' | 'tsv' | 'parquet' | 'binary' | 'text';

const FORMAT_NAMES: Record<SniffedFormat, string> = {
  empty: 'empty',
  jsonl: 'JSONL',
  'json-array': 'one JSON array (a JSON document, not JSONL)',
  'json-object': 'one JSON object spread over the file (a JSON document, not JSONL)',
  csv: 'CSV (comma-separated, a header row)',
  tsv: 'TSV (tab-separated, a header row)',
  parquet: 'Parquet',
  binary: 'binary, not text',
  text: 'text, but neither JSONL nor CSV',
};

export function formatName(format: SniffedFormat): string {
  return FORMAT_NAMES[format];
}

/** The format `head` (the file's first bytes, up to 64 KiB is plenty) looks like. */
export function sniffFormat(head: Uint8Array): SniffedFormat {
  const bytes = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (bytes.subarray(0, 4).toString('latin1') === 'PAR1') return 'parquet';
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') return 'empty';
  if (bytes.includes(0) || (text.match(/\uFFFD/g)?.length ?? 0) > text.length / 20) return 'binary';
  const start = text.trimStart();
  if (start.startsWith('[')) return 'json-array';
  const firstLine = (start.split('\n')[0] ?? '').replace(/\r$/, '');
  if (start.startsWith('{')) return parsesAsObject(firstLine) && !isKeyedObject(firstLine, start) ? 'jsonl' : 'json-object';
  if (firstLine.includes('\t')) return 'tsv';
  if (firstLine.includes(',') || firstLine.includes(';')) return 'csv';
  return 'text';
}

/** The fields of the first `rows` JSON-object lines of `head`, in the order first seen. */
export function fieldsOfFirstRows(head: Uint8Array, rows = 5): string[] {
  const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('utf8').replace(/^\uFEFF/, '');
  const fields = new Set<string>();
  let seen = 0;
  // The last line may be cut at the end of `head`: only whole lines.
  const lines = text.split('\n');
  for (const line of lines.slice(0, lines.length > 1 ? -1 : undefined)) {
    if (seen >= rows) break;
    try {
      const value: unknown = JSON.parse(line);
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        seen++;
        for (const key of Object.keys(value)) fields.add(key);
      }
    } catch {
      // Not a row: the message says what it is.
    }
  }
  return [...fields];
}

function parsesAsObject(line: string): boolean {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  } catch {
    return false;
  }
}

/**
 * The whole file on its first line, an object whose values are all objects (MMHS150K's
 * `{"<tweet id>": {...}, ...}`): one document keyed by id, not a one-row JSONL.
 */
function isKeyedObject(firstLine: string, text: string): boolean {
  if (text.trimEnd().length !== firstLine.trimEnd().length) return false;
  const value = JSON.parse(firstLine) as Record<string, unknown>;
  const values = Object.values(value);
  return values.length > 0 && values.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v)) && !('id' in value);
}
