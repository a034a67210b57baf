import { imageDimensions } from '../images/image-dimensions.js';
import { BASE64_SLICE_BYTES, dataUriPrefix, isDataUri } from '../shards/line-writer.js';
import { loadUncheckedTextCounter, requestBodyTokens, textEncodingFor, type TextCounter, type TextEncoding } from '../requests/token-estimate.js';
import type { DataUri, RequestLine } from '../../types.js';
import { skipSpace, startsWith } from '../json/result-json.js';

/**
 * Direct mode's view of a Batch API request line: its `custom_id` and its `body` as bytes (never
 * parsed into objects and serialised again: a line carries a base64 image of up to tens of MB,
 * and the body is sent as it is written), and its estimated tokens, for rate limits. Lines are
 * Buffers, not strings: a 185 kB line as a string is a large V8 object that only a full GC frees,
 * and a few thousand of them held the heap at ~90 MB between collections; a Buffer's bytes live
 * outside the heap and go with it.
 *
 * Two sources. Lines the build makes (`run --provider direct`) come with their id, the offset of
 * their body and their token estimate: {@link requestFromBuilt} only writes them into a Buffer.
 * Lines read from files or stdin (`send`) are scanned: {@link requestFromLine} cuts `custom_id`
 * and `body` out where they lie, and the tokens are estimated from the body's
 * {@link bodySkeleton} by the same estimator as the build's (core/requests/token-estimate.ts).
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

/** A request line read from a file: a request but for its token estimate, made from `skeleton`. */
export interface ScannedRequest extends Omit<DirectRequest, 'tokens'> {
  /** The body parsed with its images cut to their headers (see {@link bodySkeleton}). */
  skeleton: Record<string, unknown>;
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
 * A line the build made, as a request: written into a Buffer from `alloc` (see {@link lineBuffer}),
 * its body the bytes from `bodyStart` to the closing brace, its tokens the build's estimate plus
 * `answerCap` (the `max_tokens` the line was built with). No byte of it is scanned.
 */
export function requestFromBuilt(l: RequestLine, answerCap: number, alloc?: (size: number) => Buffer): DirectRequest & { buf: Buffer } {
  if (l.bodyStart === undefined || l.tokens === undefined) throw new Error(`internal: line ${l.line} was built without its body offset or token estimate`);
  const buf = lineBuffer(l.segments, l.byteLength, alloc);
  if (buf[l.bodyStart] !== OPEN_BRACE || buf[buf.length - 1] !== CLOSE_BRACE) throw new Error(`internal: line ${l.line}: no body at byte ${l.bodyStart}`);
  return { customId: l.customId, body: buf.subarray(l.bodyStart, buf.length - 1), tokens: l.tokens + answerCap, line: l.line, buf };
}

/** Cuts `custom_id` and `body` out of a request line (without its newline); the body's skeleton is parsed for the estimate. */
export function requestFromLine(buf: Buffer, line: number): ScannedRequest | RequestLineProblem {
  let customId: string | undefined;
  let body: { start: number; end: number } | undefined;
  try {
    let i = skipSpace(buf, 0, buf.length);
    if (buf[i] !== OPEN_BRACE) return notAnObject(buf);
    i = skipSpace(buf, i + 1, buf.length);
    while (buf[i] !== CLOSE_BRACE) {
      if (buf[i] !== QUOTE) throw new SyntaxError(`expected a key at byte ${i}`);
      const keyEnd = stringEnd(buf, i);
      const key = keyOf(buf, i, keyEnd);
      i = skipSpace(buf, keyEnd + 1, buf.length);
      if (buf[i] !== COLON) throw new SyntaxError(`expected ':' at byte ${i}`);
      const start = skipSpace(buf, i + 1, buf.length);
      const end = valueEnd(buf, start);
      if (key === 'custom_id') {
        if (buf[start] !== QUOTE) return { field: 'custom_id', code: 'E_FIELD_TYPE', message: 'field "custom_id" must be a string' };
        customId = JSON.parse(buf.toString('utf8', start, end)) as string;
      } else if (key === 'body') {
        if (buf[start] !== OPEN_BRACE) return { field: 'body', code: 'E_FIELD_TYPE', message: 'field "body" must be an object' };
        body = { start, end };
      }
      i = skipSpace(buf, end, buf.length);
      if (buf[i] === COMMA) i = skipSpace(buf, i + 1, buf.length);
      else if (buf[i] !== CLOSE_BRACE) throw new SyntaxError(`expected ',' or '}' at byte ${i}`);
    }
    if (skipSpace(buf, i + 1, buf.length) !== buf.length) throw new SyntaxError(`unexpected bytes after the object at byte ${i + 1}`);
  } catch (err) {
    return { field: 'line', code: 'E_BAD_JSON', message: `not valid JSON (${(err as Error).message})` };
  }
  if (customId === undefined) return { field: 'custom_id', code: 'E_MISSING_FIELD', message: 'field "custom_id" is missing' };
  if (customId.trim() === '') return { field: 'custom_id', code: 'E_EMPTY_FIELD', message: 'field "custom_id" is empty' };
  if (body === undefined) return { field: 'body', code: 'E_MISSING_FIELD', message: 'field "body" is missing', customId };
  const bytes = buf.subarray(body.start, body.end);
  let skeleton: Record<string, unknown>;
  try {
    skeleton = bodySkeleton(bytes);
  } catch (err) {
    // The scan above only follows strings and brackets: the body's inside is checked here.
    return { field: 'body', code: 'E_BAD_JSON', message: `field "body" is not valid JSON (${(err as Error).message})`, customId };
  }
  return { customId, body: bytes, line, skeleton };
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
 * Base64 characters of an image kept in a skeleton, for its dimensions: first 4 KiB (3 KB of the
 * file: PNG, GIF and WEBP give them in their first 30 bytes, a plain JPEG in its SOF marker a few
 * hundred bytes in), then 256 KiB when that holds no SOF yet (EXIF, XMP or ICC segments come
 * first). Past that the image counts as the largest the model looks at (image-tokens.ts
 * maxImageTokens). The smaller first look saves a third of the skeleton's time (41 → 28 µs a
 * 200 kB line of the benchmark's JPEGs).
 */
const IMAGE_HEAD_CHARS = [4 * 1024, 256 * 1024];

/**
 * A chat completions body (JSON bytes) parsed with each data URI under a `url` key cut to the
 * head of its image, which holds the dimensions: the few kB the token estimate needs instead of
 * a string of the whole image. Throws a SyntaxError when the body is not JSON.
 */
export function bodySkeleton(body: Buffer): Record<string, unknown> {
  const pieces: Buffer[] = [];
  let from = 0;
  let key = '';
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== QUOTE) continue;
    const close = stringEnd(body, i);
    const after = skipSpace(body, close + 1, body.length);
    if (body[after] === COLON) {
      key = keyOf(body, i, close);
      i = after;
      continue;
    }
    if (key === 'url' && close - i - 1 > IMAGE_HEAD_CHARS[0]! && startsWith(body, i + 1, body.length, DATA)) {
      pieces.push(body.subarray(from, imageHeadEnd(body, i + 1, close)));
      from = close;
    }
    i = close;
  }
  pieces.push(body.subarray(from));
  const value: unknown = JSON.parse(Buffer.concat(pieces).toString('utf8'));
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new SyntaxError('not an object');
  return value as Record<string, unknown>;
}

/** Where to cut the data URI from `start` to `end` (its closing quote): after enough base64 for the dimensions, or after the comma. */
function imageHeadEnd(buf: Buffer, start: number, end: number): number {
  const comma = buf.indexOf(COMMA, start);
  if (comma === -1 || comma >= end) return end;
  for (const chars of IMAGE_HEAD_CHARS) {
    const cut = escapeSafeCut(buf, comma + 1, Math.min(end, comma + 1 + chars));
    const text = buf.toString('latin1', comma + 1, cut);
    if (imageDimensions(Buffer.from(text.includes('\\') ? (JSON.parse(`"${text}"`) as string) : text, 'base64'))) return cut;
    if (cut === end) break;
  }
  return comma + 1;
}

/** `cut`, or earlier so as not to split a JSON escape (`\/`, `\u002f`) that starts after `start`. */
function escapeSafeCut(buf: Buffer, start: number, cut: number): number {
  for (let p = Math.max(start, cut - 5); p < cut; p++) {
    if (buf[p] !== BACKSLASH) continue;
    let before = 0;
    while (p - 1 - before >= start && buf[p - 1 - before] === BACKSLASH) before++;
    if (before % 2 === 0) return p;
  }
  return cut;
}

/**
 * Estimated tokens of a body from its {@link bodySkeleton}: its answer cap (`max_completion_tokens`
 * or `max_tokens`; 0 when absent) plus its input tokens as the build counts them
 * (core/requests/token-estimate.ts requestBodyTokens: text through `countText`, images by their dimensions).
 */
export function bodyTokens(skeleton: Record<string, unknown>, countText: TextCounter): number {
  const cap = skeleton.max_completion_tokens ?? skeleton.max_tokens;
  return (typeof cap === 'number' && cap > 0 ? cap : 0) + requestBodyTokens(skeleton, countText);
}

/**
 * {@link bodyTokens} with the tokenizer of each body's model (loaded on first use of its encoding,
 * ~0.25 s and ~16 MB of heap for o200k_base), word by word (counts remembered, see
 * wordCachedCounter), a word of over 256 characters in slices (see slicedCounter: a line from a
 * file may hold any text, and one long run of letters would take minutes to count whole).
 */
export function bodyTokenEstimator(): (skeleton: Record<string, unknown>) => Promise<number> {
  const counters = new Map<TextEncoding, Promise<TextCounter>>();
  return async (skeleton) => {
    const encoding = textEncodingFor(typeof skeleton.model === 'string' ? skeleton.model : '');
    let counter = counters.get(encoding);
    if (!counter) counters.set(encoding, (counter = loadUncheckedTextCounter(encoding)));
    return bodyTokens(skeleton, await counter);
  };
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
