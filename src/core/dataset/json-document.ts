/** What a JSON dataset document is, told from its first bytes: an array of rows, or an object of rows keyed by id. */

export type JsonShape = 'array' | 'object';

/**
 * The document's shape from its first bytes (a UTF-8 BOM and JSON whitespace skipped): `array`,
 * `object`, `null` when only whitespace was seen so far, or the first other character (a JSON
 * dataset that is neither, such as JSONL given as `.json`, starts with `{` too: see the reader).
 */
export function jsonShape(head: Uint8Array): JsonShape | { other: string } | null {
  // A UTF-8 BOM, perhaps not all here yet.
  if (head[0] === 0xef && (head.length < 2 || (head[1] === 0xbb && head.length < 3))) return null;
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  for (; i < head.length; i++) {
    const b = head[i]!;
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue;
    if (b === 0x5b) return 'array';
    if (b === 0x7b) return 'object';
    return { other: b >= 0x21 && b < 0x7f ? String.fromCharCode(b) : `byte 0x${b.toString(16).padStart(2, '0')}` };
  }
  return null;
}

/** The reject message of a document that breaks off or is malformed at record `record` (1-based). */
export function documentErrorMessage(shape: JsonShape, record: number, bytesRead: number, err: unknown): string {
  const reason = (err as Error)?.message ?? String(err);
  const where = shape === 'array' ? `element ${record} of the array` : `entry ${record} of the object`;
  return `the JSON document is cut off or malformed at ${where} (within the first ${bytesRead} bytes): ${reason}; the records before it are read, none after${shape === 'object' ? ' (one object a line is JSONL: name it .jsonl or pass --format jsonl)' : ''}`;
}
