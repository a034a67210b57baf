import { skipSpace, startsWith } from './result-json.js';

/**
 * The merge's join key of a row id: a 52-bit hash of the id as a JSON string literal. Both sides
 * of the join (dataset ids, result `custom_id`s) are sorted by it, as numbers (radix order, no
 * string held per entry); the literal travels beside it, and ids whose hashes collide are told
 * apart by their literals at the join. The literal of a plain id is its own bytes in the line,
 * quotes included, so most ids are hashed where they lie, never decoded.
 */

/** A byte range of a JSON string literal (quotes included). */
export interface LiteralRange {
  buf: Buffer;
  start: number;
  end: number;
}

/**
 * Finds, after `prefix` (matched on the first `lookBytes` bytes of the line, read as latin1), a
 * string literal with no escapes and no control characters, followed by `,` or `}`: such a
 * literal is already what `JSON.stringify` gives for its value. Sets `range` and returns true;
 * false when the id has another shape or is blank (the caller parses the line).
 */
export function plainLiteralAt(buf: Buffer, start: number, end: number, prefix: RegExp, range: LiteralRange, lookBytes = 128): boolean {
  const m = prefix.exec(buf.toString('latin1', start, Math.min(end, start + lookBytes)));
  return m !== null && plainLiteralFrom(buf, start + m[0].length, end, range);
}

/** {@link plainLiteralAt} with the literal's place known: `open`, where its quote should be. */
export function plainLiteralFrom(buf: Buffer, open: number, end: number, range: LiteralRange): boolean {
  if (open < 0 || open >= end || buf[open] !== QUOTE) return false;
  let i = open + 1;
  let blank = true;
  // A multi-byte UTF-8 character never contains a byte below 0x80.
  for (; i < end; i++) {
    const b = buf[i]!;
    if (b === QUOTE) break;
    if (b === BACKSLASH || b < 0x20) return false;
    if (b !== SPACE) blank = false;
  }
  // A blank id is no id (validateRow's rule): the caller's slow path says so.
  if (i >= end || blank) return false;
  const close = i + 1;
  for (i = close; i < end && (buf[i] === SPACE || buf[i] === TAB || buf[i] === CR); i++);
  if (buf[i] !== COMMA && buf[i] !== CLOSE) return false;
  range.buf = buf;
  range.start = open;
  range.end = close;
  return true;
}

/**
 * Where the value of a dataset line's `id` starts when it is the line's first key (`{"id": `,
 * JSON whitespace around): read on the bytes, not through a decoded string and a RegExp. -1 when
 * the line starts otherwise.
 */
export function afterIdKey(buf: Uint8Array, start: number, end: number): number {
  let i = skipSpace(buf, start, end);
  if (i >= end || buf[i] !== OPEN) return -1;
  i = skipSpace(buf, i + 1, end);
  return afterKey(buf, i, end, ID_KEY);
}

/**
 * Where the value of a result line's `custom_id` starts when it comes first, or second after a
 * plain `id` (`{"id": "batch_req_…", "custom_id": `: OpenAI, Azure, vLLM, ours); -1 otherwise.
 */
export function afterCustomIdKey(buf: Uint8Array, start: number, end: number): number {
  let i = skipSpace(buf, start, end);
  if (i >= end || buf[i] !== OPEN) return -1;
  i = skipSpace(buf, i + 1, end);
  const value = afterKey(buf, i, end, ID_KEY);
  if (value !== -1) {
    if (value >= end || buf[value] !== QUOTE) return -1;
    for (i = value + 1; i < end && buf[i] !== QUOTE; i++) if (buf[i] === BACKSLASH) return -1;
    i = skipSpace(buf, i + 1, end);
    if (i >= end || buf[i] !== COMMA) return -1;
    i = skipSpace(buf, i + 1, end);
  }
  return afterKey(buf, i, end, CUSTOM_ID_KEY);
}

/** After the key `key` (quotes included) at `i`, its colon and spaces: where its value starts; or -1. */
function afterKey(buf: Uint8Array, i: number, end: number, key: Uint8Array): number {
  if (!startsWith(buf, i, end, key)) return -1;
  i = skipSpace(buf, i + key.length, end);
  return i < end && buf[i] === COLON ? skipSpace(buf, i + 1, end) : -1;
}

const ID_KEY = Buffer.from('"id"');
const CUSTOM_ID_KEY = Buffer.from('"custom_id"');

/** The literal of an id that is not plain in its line (escaped, or a number in the dataset). */
export function idLiteral(id: string): Buffer {
  return Buffer.from(JSON.stringify(id));
}

/** The id a literal stands for. */
export function idOfLiteral(buf: Buffer, start: number, end: number): string {
  return JSON.parse(buf.toString('utf8', start, end)) as string;
}

/** A 52-bit hash of `buf[start, end)` (two 32-bit multiplicative hashes, mixed): a safe integer. */
export function hashBytes(buf: Buffer, start: number, end: number): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ (end - start);
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    h1 = Math.imul(h1 ^ b, 0x01000193);
    h2 = Math.imul(h2 ^ b, 0x5bd1e995);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b) ^ Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b) ^ Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35);
  return (h2 & 0xfffff) * 0x100000000 + (h1 >>> 0);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const COMMA = 0x2c;
const CLOSE = 0x7d;
const OPEN = 0x7b;
const COLON = 0x3a;
