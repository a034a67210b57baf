import { isUtf8 } from 'node:buffer';
import { bytesEqual, FAIL, JsonSkipper, NULL, skipSpace, startsWith } from '../json/result-json.js';
import { codePointOf, utf8Length } from '../json/json-chars.js';
import { isUnicodeSpace, trimmedLiteral } from '../json/trimmed-literal.js';

/**
 * The usual result line, read where it lies: a success (`response.status_code` 200, no `error`)
 * whose answer is a JSON object with the explanation field, e.g.
 * `{"custom_id": "…", "response": {"status_code": 200, "body": {"choices": [{"message":
 * {"content": "{\"explanation\": \"…\"}"}, "finish_reason": "stop"}]}}, "error": null}`. For
 * such a line {@link ResultScanner.scan} writes the explanation's JSON literal, byte for byte
 * what `JSON.stringify(resultFromLine(line).explanation)` gives, without building the line's
 * objects and strings: parsing a million answers that way left the parse threads' heaps full of
 * garbage (~30 MB resident each) and was most of the merge's time.
 *
 * Anything else (a failure, an answer in a code fence or among prose, an escaped key, a lone
 * surrogate, text that `trim()` would shorten beyond ASCII spaces, invalid UTF-8 in the
 * explanation, nesting deeper than 64, a line over {@link SCAN_MAX_LINE}) is left to
 * `resultFromLine`: the scan answers only when it is sure, and the two agree wherever it answers
 * (test/core/result-scan.test.ts checks them against each other on generated lines).
 *
 * Memory: two scratch buffers of about {@link SCAN_MAX_LINE} at most, grown as lines need.
 */
export class ResultScanner {
  readonly #json = new JsonSkipper(MAX_DEPTH);
  readonly #size = new Int32Array(2);
  readonly #field: Buffer | null;
  /** The answer decoded. */
  #work = Buffer.alloc(0);
  #workMemory = this.#work.buffer;
  /** The explanation's JSON literal. */
  #out = Buffer.alloc(0);

  // What the line holds, as read so far (a repeated key starts its part over: the last one counts).
  #customId = false;
  #errorOk = true;
  #status200 = false;
  /** A message object in the first choice of the body of the response. */
  #message = false;
  #finishOk = true;
  /** The length of the message's content (a string), decoded into #work. */
  #content = FAIL;
  /** The length of the explanation's literal in #out. */
  #literal = FAIL;
  /** A key of a part that is read was escaped: it may name a field (the full parse decides). */
  #unsure = false;

  /** `field`: the JSON field of the explanation in the answers (default `explanation`). */
  constructor(field = 'explanation') {
    // A key of invalid UTF-8 reads as U+FFFD in the full parse: such a field is never matched here.
    this.#field = field.includes('\uFFFD') ? null : Buffer.from(field);
  }

  /** The buffer {@link scan} writes the literal at (from 0); valid until the next scan. */
  get output(): Buffer {
    return this.#out;
  }

  /** Reads the result line `b[start, end)`: the length of its explanation's literal in {@link output}, or -1 when the line needs the full parse. */
  scan(b: Uint8Array, start: number, end: number): number {
    if (this.#field === null || end - start > SCAN_MAX_LINE) return FAIL;
    // No decoded string is longer than its literal, no JSON.stringify literal of it longer either.
    if (this.#work.length < end - start) {
      this.#work = Buffer.allocUnsafeSlow(Math.max(end - start, 16 << 10));
      this.#workMemory = this.#work.buffer;
    }
    if (this.#out.length < end - start + 2) this.#out = Buffer.allocUnsafeSlow(Math.max(end - start + 2, 16 << 10));
    this.#customId = false;
    this.#errorOk = true;
    this.#unsure = false;
    this.#setResponse();
    let i = skipSpace(b, start, end);
    if (i >= end || b[i] !== OPEN) return FAIL;
    i = this.#object(b, i, end, 1, TOP);
    if (i === FAIL || skipSpace(b, i, end) !== end) return FAIL;
    if (this.#unsure || !this.#customId || !this.#errorOk || !this.#status200 || !this.#message || !this.#finishOk || this.#content === FAIL) return FAIL;
    return this.#answer(this.#work, this.#content);
  }

  /** The answer, `work[0, end)`: the explanation, when it is the field of the JSON object that is the whole answer. */
  #answer(work: Uint8Array, end: number): number {
    let i = skipSpace(work, 0, end);
    if (i >= end || work[i] !== OPEN) return FAIL;
    this.#literal = FAIL;
    i = this.#object(work, i, end, 1, ANSWER);
    if (i === FAIL || skipSpace(work, i, end) !== end || this.#unsure) return FAIL;
    return this.#literal;
  }

  /** An object at `i` whose members are of `part`: the ones the success test needs are noted, the others checked and skipped. */
  #object(b: Uint8Array, i: number, end: number, depth: number, part: number): number {
    i = skipSpace(b, i + 1, end);
    if (i < end && b[i] === CLOSE) return i + 1;
    for (;;) {
      if (i >= end || b[i] !== QUOTE) return FAIL;
      const keyStart = i + 1;
      i = this.#json.string(b, i, end);
      if (i === FAIL) return FAIL;
      const keyEnd = i - 1;
      if (this.#json.escaped) this.#unsure = true;
      i = skipSpace(b, i, end);
      if (i >= end || b[i] !== COLON) return FAIL;
      i = skipSpace(b, i + 1, end);
      i = this.#member(b, keyStart, keyEnd, i, end, depth, part);
      if (i === FAIL) return FAIL;
      i = skipSpace(b, i, end);
      if (i < end && b[i] === COMMA) i = skipSpace(b, i + 1, end);
      else return i < end && b[i] === CLOSE ? i + 1 : FAIL;
    }
  }

  /** The value at `i` of the member named `b[keyStart, keyEnd)` of a `part` object. */
  #member(b: Uint8Array, keyStart: number, keyEnd: number, i: number, end: number, depth: number, part: number): number {
    const isObject = i < end && b[i] === OPEN;
    if (part === TOP) {
      if (bytesEqual(b, keyStart, keyEnd, CUSTOM_ID)) this.#customId = i < end && b[i] === QUOTE;
      else if (bytesEqual(b, keyStart, keyEnd, ERROR)) this.#errorOk = startsWith(b, i, end, NULL);
      else if (bytesEqual(b, keyStart, keyEnd, RESPONSE)) {
        this.#setResponse();
        if (isObject) return this.#object(b, i, end, depth + 1, RESPONSE_PART);
      }
    } else if (part === RESPONSE_PART) {
      if (bytesEqual(b, keyStart, keyEnd, STATUS_CODE)) {
        const after = this.#json.value(b, i, end, depth);
        this.#status200 = after === i + 3 && b[i] === 0x32 && b[i + 1] === 0x30 && b[i + 2] === 0x30;
        return after;
      }
      if (bytesEqual(b, keyStart, keyEnd, BODY)) {
        this.#setChoices();
        if (isObject) return this.#object(b, i, end, depth + 1, BODY_PART);
      }
    } else if (part === BODY_PART) {
      if (bytesEqual(b, keyStart, keyEnd, CHOICES)) {
        this.#setChoices();
        if (i < end && b[i] === OPEN_ARRAY) return this.#choiceList(b, i, end, depth + 1);
      }
    } else if (part === CHOICE_PART) {
      if (bytesEqual(b, keyStart, keyEnd, MESSAGE)) {
        this.#message = isObject;
        this.#content = FAIL;
        if (isObject) return this.#object(b, i, end, depth + 1, MESSAGE_PART);
      } else if (bytesEqual(b, keyStart, keyEnd, FINISH_REASON)) {
        const after = this.#json.value(b, i, end, depth);
        // "length" and "content_filter" are failures; an escaped reason might spell one.
        this.#finishOk = b[i] !== QUOTE || !(this.#json.escaped || bytesEqual(b, i + 1, after - 1, LENGTH) || bytesEqual(b, i + 1, after - 1, CONTENT_FILTER));
        return after;
      }
    } else if (part === MESSAGE_PART) {
      if (bytesEqual(b, keyStart, keyEnd, CONTENT)) {
        this.#content = FAIL;
        if (i < end && b[i] === QUOTE) {
          // Checked and decoded in one pass (its bytes are most of the line).
          const after = this.#json.decode(b, i, end, this.#work, 0);
          if (after !== FAIL) this.#content = this.#json.written;
          return after;
        }
      }
    } else if (part === ANSWER && bytesEqual(b, keyStart, keyEnd, this.#field!)) {
      if (i < end && b[i] === QUOTE) {
        const plain = this.#plainLiteral(i, end);
        if (plain !== FAIL) return plain;
        const after = trimmedLiteral(b, i, end, this.#out, this.#size);
        this.#literal = after === FAIL ? FAIL : this.#size[1]!;
        return after;
      }
      this.#literal = FAIL;
    }
    return this.#json.value(b, i, end, depth);
  }

  /**
   * The usual explanation: a string of the answer (`#work`) with no escape or control character,
   * whose text is then its bytes. Its literal is those bytes trimmed of spaces, in quotes, when
   * they are UTF-8 and do not end in a space beyond ASCII; FAIL leaves the string to
   * {@link trimmedLiteral}. Its end is where #json, decoding #work, noted it wrote a quote (or
   * another character a literal cannot hold): the text is not read for it again.
   */
  #plainLiteral(i: number, end: number): number {
    const work = this.#work;
    const close = this.#json.writtenSpecialAfter(i);
    if (close === FAIL || close >= end || work[close] !== QUOTE) return FAIL;
    let from = i + 1;
    let to = close;
    while (from < to && work[from] === 0x20) from++;
    while (to > from && work[to - 1] === 0x20) to--;
    if (from === to) return FAIL;
    // A view, not work.subarray(): a Buffer's costs twice as much to make (#work starts its memory).
    const text = new Uint8Array(this.#workMemory, from, to - from);
    if (!isUtf8(text)) return FAIL;
    let last = to - 1;
    while ((work[last]! & 0xc0) === 0x80) last--;
    if ((work[from]! >= 0x80 && isUnicodeSpace(codePointOf(work, from, utf8Length(work, from, to)))) || (work[last]! >= 0x80 && isUnicodeSpace(codePointOf(work, last, to - last)))) return FAIL;
    const out = this.#out;
    out[0] = QUOTE;
    out.set(text, 1);
    out[to - from + 1] = QUOTE;
    this.#literal = to - from + 2;
    return close + 1;
  }

  /** The choices array at `i`: its first element is the choice read. */
  #choiceList(b: Uint8Array, i: number, end: number, depth: number): number {
    if (depth > MAX_DEPTH) return FAIL;
    i = skipSpace(b, i + 1, end);
    if (i < end && b[i] === CLOSE_ARRAY) return i + 1;
    i = i < end && b[i] === OPEN ? this.#object(b, i, end, depth + 1, CHOICE_PART) : this.#json.value(b, i, end, depth);
    for (;;) {
      if (i === FAIL) return FAIL;
      i = skipSpace(b, i, end);
      if (i < end && b[i] === COMMA) i = this.#json.value(b, skipSpace(b, i + 1, end), end, depth);
      else return i < end && b[i] === CLOSE_ARRAY ? i + 1 : FAIL;
    }
  }

  /** A response starts over (a repeated key: the last one counts), and what it held with it. */
  #setResponse(): void {
    this.#status200 = false;
    this.#setChoices();
  }

  #setChoices(): void {
    this.#message = false;
    this.#finishOk = true;
    this.#content = FAIL;
  }
}

/** Longer lines go to the full parse (the scratch buffers stay within a few MB). */
export const SCAN_MAX_LINE = 256 << 10;
const MAX_DEPTH = 64;

const TOP = 0;
const RESPONSE_PART = 1;
const BODY_PART = 2;
const CHOICE_PART = 3;
const MESSAGE_PART = 4;
const ANSWER = 5;

// The bytes of JSON's structure, as constants of this module: imported from result-json.ts, the
// scan took 15% longer (module bindings are not folded into the compiled loops as well).
const QUOTE = 0x22;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

const CUSTOM_ID = Buffer.from('custom_id');
const ERROR = Buffer.from('error');
const RESPONSE = Buffer.from('response');
const STATUS_CODE = Buffer.from('status_code');
const BODY = Buffer.from('body');
const CHOICES = Buffer.from('choices');
const MESSAGE = Buffer.from('message');
const CONTENT = Buffer.from('content');
const FINISH_REASON = Buffer.from('finish_reason');
const LENGTH = Buffer.from('length');
const CONTENT_FILTER = Buffer.from('content_filter');
