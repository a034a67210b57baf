import { BatchExplainError } from '../errors.js';

/**
 * The lines of a byte stream as Buffers of their own, with 1-based numbers: without the newline
 * (nor a `\r` before it, nor a UTF-8 BOM at the start), never decoded. For lines that go on as
 * bytes (direct mode sends a request line's body as it is): decoding a 185 kB line into a string
 * only makes a large heap object for the next full GC. Memory: one read chunk, and the line
 * being put together (at most `maxLineBytes`, else a coded error naming the line).
 */
export async function* lineBuffers(source: AsyncIterable<Buffer | string>, options: { name: string; maxLineBytes?: number }): AsyncGenerator<{ line: number; buf: Buffer }> {
  const maxLineBytes = options.maxLineBytes ?? 256 * 1024 * 1024;
  let parts: Buffer[] = [];
  let pending = 0;
  let line = 0;
  const finish = (last: Buffer): Buffer => {
    const whole = parts.length === 0 ? Buffer.from(last) : Buffer.concat([...parts, last]);
    parts = [];
    pending = 0;
    line++;
    let end = whole.length;
    if (end > 0 && whole[end - 1] === CR) end--;
    const start = line === 1 && whole[0] === 0xef && whole[1] === 0xbb && whole[2] === 0xbf ? 3 : 0;
    return whole.subarray(start, end);
  };
  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let from = 0;
    for (let nl = bytes.indexOf(NL); nl !== -1; nl = bytes.indexOf(NL, from)) {
      if (pending + nl - from > maxLineBytes) throw tooLong(options.name, line + 1, maxLineBytes);
      const buf = finish(bytes.subarray(from, nl));
      yield { line, buf };
      from = nl + 1;
    }
    if (from < bytes.length) {
      pending += bytes.length - from;
      if (pending > maxLineBytes) throw tooLong(options.name, line + 1, maxLineBytes);
      parts.push(Buffer.from(bytes.subarray(from)));
    }
  }
  if (pending > 0) {
    const buf = finish(Buffer.alloc(0));
    yield { line, buf };
  }
}

const NL = 0x0a;
const CR = 0x0d;

function tooLong(name: string, line: number, maxLineBytes: number): Error {
  return new BatchExplainError('E_LINE_TOO_LONG', `${name}: line ${line} is longer than ${maxLineBytes} bytes (is it JSONL?)`);
}
