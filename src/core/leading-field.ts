/**
 * The value of the first field of a JSON line, read from its bytes without decoding or parsing
 * the rest of the line: dataset rows start `{"id": …` and batch output lines
 * `{"id":"batch_req_…","custom_id":"…"`, and the line behind can be kilobytes of text.
 *
 * `prefix` must match, from the start of the line, everything before the value (for a dataset
 * row: optional spaces, `{`, `"id"`, `:`); it is tried on the first `lookBytes` bytes read as
 * latin1, which keeps byte offsets (a longer prefix is missed). Returns the value if it is a
 * string or an integer followed by `,` or `}`, and `undefined` when the line has another shape:
 * the caller parses the line instead.
 */
export function leadingField(buf: Buffer, start: number, end: number, prefix: RegExp, lookBytes = 128): string | number | undefined {
  const m = prefix.exec(buf.toString('latin1', start, Math.min(end, start + lookBytes)));
  if (!m) return undefined;
  let i = start + m[0].length;
  let value: string | number;
  if (buf[i] === QUOTE) {
    const open = ++i;
    let escaped = false;
    // A multi-byte UTF-8 character never contains the bytes of `"` or `\`.
    for (; i < end && buf[i] !== QUOTE; i++) {
      if (buf[i] === BACKSLASH) {
        escaped = true;
        i++;
      }
    }
    if (i >= end) return undefined;
    // A fresh string from the bytes: never a slice that would keep a larger string alive.
    const raw = buf.toString('utf8', open, i++);
    if (escaped) {
      try {
        value = JSON.parse(`"${raw}"`) as string;
      } catch {
        return undefined;
      }
    } else value = raw;
  } else {
    const open = i;
    if (buf[i] === MINUS) i++;
    while (i < end && buf[i]! >= DIGIT_0 && buf[i]! <= DIGIT_9) i++;
    if (i === open || (i === open + 1 && buf[open] === MINUS)) return undefined;
    value = Number(buf.toString('latin1', open, i));
  }
  while (i < end && (buf[i] === SPACE || buf[i] === TAB || buf[i] === CR || buf[i] === LF)) i++;
  return buf[i] === COMMA || buf[i] === CLOSE ? value : undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const COMMA = 0x2c;
const CLOSE = 0x7d;
