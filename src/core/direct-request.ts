import { BASE64_SLICE_BYTES, dataUriPrefix, isDataUri } from './line-writer.js';
import type { DataUri } from '../types.js';

/**
 * Direct mode's view of a Batch API request line: its `custom_id` and its `body`, cut out of the
 * line's bytes where they lie (never parsed into objects and serialised again: a line carries a
 * base64 image of up to tens of MB, and the body is sent as it is written), and an estimate of
 * the tokens it will cost, for rate limits. Lines are Buffers, not strings: a 185 kB line as a
 * string is a large V8 object that only a full GC frees, and a few thousand of them held the
 * heap at ~90 MB between collections; a Buffer's bytes live outside the heap and go with it.
 */
export interface DirectRequest {
  /** The line's `custom_id`: the dataset row's id. */
  customId: string;
  /** The chat completions body, as JSON bytes (a view into the line). */
  body: Buffer;
  /** Estimated tokens: the answer cap, the text, the images. */
  tokens: number;
  /** Dataset line, or request file line, for messages. */
  line: number;
  /** Called once the request is answered: its line's Buffer may be used again (see BufferPool). */
  release?: () => void;
}

/** What a line lacks to be a request line: the field, and why. */
export interface RequestLineProblem {
  field: 'line' | 'custom_id' | 'body';
  code: 'E_BAD_JSON' | 'E_NOT_OBJECT' | 'E_MISSING_FIELD' | 'E_FIELD_TYPE' | 'E_EMPTY_FIELD';
  message: string;
  /** The line's id, when it has one. */
  customId?: string;
}

/**
 * Tokens per image when estimating: gpt-4o's tile formula for a 1024×1024 image at `high`
 * (85 + 4 × 170) and at `low`. A rough bound; the server's own headers correct it.
 */
export const IMAGE_TOKENS = { high: 765, low: 85 } as const;
/** Bytes of text per token: the usual four characters of English (Arabic, at two bytes a letter, is counted high). */
export const BYTES_PER_TOKEN = 4;

/** Cuts `custom_id` and `body` out of a request line (without its newline); the body is scanned for the estimate. */
export function requestFromLine(buf: Buffer, line: number): DirectRequest | RequestLineProblem {
  let customId: string | undefined;
  let body: { start: number; end: number } | undefined;
  try {
    let i = skipSpace(buf, 0);
    if (buf[i] !== OPEN_BRACE) return notAnObject(buf);
    i = skipSpace(buf, i + 1);
    while (buf[i] !== CLOSE_BRACE) {
      if (buf[i] !== QUOTE) throw new SyntaxError(`expected a key at byte ${i}`);
      const keyEnd = stringEnd(buf, i);
      const key = keyOf(buf, i, keyEnd);
      i = skipSpace(buf, keyEnd + 1);
      if (buf[i] !== COLON) throw new SyntaxError(`expected ':' at byte ${i}`);
      const start = skipSpace(buf, i + 1);
      const end = valueEnd(buf, start);
      if (key === 'custom_id') {
        if (buf[start] !== QUOTE) return { field: 'custom_id', code: 'E_FIELD_TYPE', message: 'field "custom_id" must be a string' };
        customId = JSON.parse(buf.toString('utf8', start, end)) as string;
      } else if (key === 'body') {
        if (buf[start] !== OPEN_BRACE) return { field: 'body', code: 'E_FIELD_TYPE', message: 'field "body" must be an object' };
        body = { start, end };
      }
      i = skipSpace(buf, end);
      if (buf[i] === COMMA) i = skipSpace(buf, i + 1);
      else if (buf[i] !== CLOSE_BRACE) throw new SyntaxError(`expected ',' or '}' at byte ${i}`);
    }
    if (skipSpace(buf, i + 1) !== buf.length) throw new SyntaxError(`unexpected bytes after the object at byte ${i + 1}`);
  } catch (err) {
    return { field: 'line', code: 'E_BAD_JSON', message: `not valid JSON (${(err as Error).message})` };
  }
  if (customId === undefined) return { field: 'custom_id', code: 'E_MISSING_FIELD', message: 'field "custom_id" is missing' };
  if (customId.trim() === '') return { field: 'custom_id', code: 'E_EMPTY_FIELD', message: 'field "custom_id" is empty' };
  if (body === undefined) return { field: 'body', code: 'E_MISSING_FIELD', message: 'field "body" is missing', customId };
  return { customId, body: buf.subarray(body.start, body.end), tokens: estimateBodyTokens(buf, body.start, body.end), line };
}

function notAnObject(buf: Buffer): RequestLineProblem {
  try {
    JSON.parse(buf.toString('utf8'));
    return { field: 'line', code: 'E_NOT_OBJECT', message: 'the line is JSON but not an object' };
  } catch (err) {
    return { field: 'line', code: 'E_BAD_JSON', message: `not valid JSON (${(err as Error).message})` };
  }
}

/**
 * Estimated tokens of a chat completions body (JSON bytes from `start` to `end`): its answer cap
 * (`max_tokens` or `max_completion_tokens`; 0 when absent), a token per {@link BYTES_PER_TOKEN}
 * bytes of its strings (data URIs left out) and {@link IMAGE_TOKENS} per `image_url`.
 */
export function estimateBodyTokens(buf: Buffer, start = 0, end = buf.length): number {
  let depth = 0;
  let key = '';
  let bytes = 0;
  let images = 0;
  let low = 0;
  let answer = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c === QUOTE) {
      const close = stringEnd(buf, i);
      const after = skipSpace(buf, close + 1);
      if (buf[after] === COLON) {
        key = keyOf(buf, i, close);
        if (key === 'image_url') images++;
        i = after;
        continue;
      }
      if (!startsWith(buf, i + 1, DATA)) bytes += close - i - 1;
      if (key === 'detail' && startsWith(buf, i, LOW)) low++;
      i = close;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
    else if (depth === 1 && (key === 'max_tokens' || key === 'max_completion_tokens') && c! >= 0x30 && c! <= 0x39) {
      let n = 0;
      for (; i < end && buf[i]! >= 0x30 && buf[i]! <= 0x39; i++) n = n * 10 + buf[i]! - 0x30;
      answer = n;
      i--;
    }
  }
  return answer + Math.ceil(bytes / BYTES_PER_TOKEN) + (images - low) * IMAGE_TOKENS.high + low * IMAGE_TOKENS.low;
}

/**
 * A request line's segments written into one Buffer, from `alloc` (`byteLength` is the line's,
 * newline included, as RequestLine gives it).
 */
export function lineBuffer(segments: ReadonlyArray<string | DataUri>, byteLength: number, alloc: (size: number) => Buffer = (size) => Buffer.allocUnsafe(size)): Buffer {
  const buf = alloc(byteLength - 1);
  let at = 0;
  for (const s of segments) {
    if (!isDataUri(s)) {
      at += buf.write(s, at, 'utf8');
      continue;
    }
    at += buf.write(dataUriPrefix(s), at, 'latin1');
    // In 48,000-byte slices: each base64 string stays a small, young object (see line-writer.ts).
    for (let from = 0; from < s.data.length; from += BASE64_SLICE_BYTES) at += buf.write(s.data.toString('base64', from, Math.min(s.data.length, from + BASE64_SLICE_BYTES)), at, 'latin1');
  }
  if (at !== buf.length) throw new Error(`internal: a request line of ${at} bytes, ${buf.length} announced`);
  return buf;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const DATA = Buffer.from('data:');
const LOW = Buffer.from('"low"');

function skipSpace(buf: Buffer, i: number): number {
  for (let c = buf[i]; c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d; c = buf[++i]);
  return i;
}

function startsWith(buf: Buffer, at: number, prefix: Buffer): boolean {
  return at + prefix.length <= buf.length && buf.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0;
}

/** Index of the quote closing the string that opens at `start`. Jumps from quote to quote: a base64 image is crossed in one search. */
function stringEnd(buf: Buffer, start: number): number {
  for (let i = start + 1; ; ) {
    const q = buf.indexOf(QUOTE, i);
    if (q === -1) throw new SyntaxError('unterminated string');
    let slashes = 0;
    while (buf[q - 1 - slashes] === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return q;
    i = q + 1;
  }
}

function keyOf(buf: Buffer, open: number, close: number): string {
  const raw = buf.toString('utf8', open + 1, close);
  return raw.includes('\\') ? (JSON.parse(buf.toString('utf8', open, close + 1)) as string) : raw;
}

/** End (exclusive) of the JSON value that starts at `start`. */
function valueEnd(buf: Buffer, start: number): number {
  const c = buf[start];
  if (c === QUOTE) return stringEnd(buf, start) + 1;
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    for (let i = start; i < buf.length; i++) {
      const d = buf[i];
      if (d === QUOTE) i = stringEnd(buf, i);
      else if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
      else if ((d === CLOSE_BRACE || d === CLOSE_BRACKET) && --depth === 0) return i + 1;
    }
    throw new SyntaxError('unterminated object or array');
  }
  const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(buf.toString('latin1', start, Math.min(buf.length, start + 64)));
  if (!m) throw new SyntaxError(`unexpected byte at ${start}`);
  return start + m[0].length;
}
