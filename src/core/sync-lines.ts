import { closeSync, openSync, readSync } from 'node:fs';

/** A line of a file as a view into a reused buffer: valid only until the next line is asked for. */
export interface LineView {
  buf: Buffer;
  start: number;
  /** End of the line, without its newline (and without a `\r` before it). */
  end: number;
  /** Byte offset of the line in the file. */
  offset: number;
  /** 1-based line number. */
  line: number;
}

/**
 * The lines of a file, read with synchronous calls into one reused buffer of `chunk` bytes, or
 * `chunk` itself (grown for a line longer than it). For passes over files we wrote ourselves or
 * trust to be JSONL, where the per-line cost matters: no stream, no promise, no decoding unless
 * the caller decodes.
 *
 * With a `range`, only the lines that start in `[from, to)` (a line that `from` cuts is the
 * previous range's; the last one may end past `to`), numbered from 1 at the first of them: so
 * that threads can share a file, each a range of its own.
 */
export function* bufferLines(file: string, chunk: number | Buffer = 1 << 20, range?: { from: number; to: number }): Generator<LineView> {
  const fd = openSync(file, 'r');
  try {
    // A caller's buffer, to reuse across files (a thread reading chunk after chunk would
    // otherwise leave a dead buffer per chunk to its allocator).
    let buf = typeof chunk === 'number' ? Buffer.allocUnsafe(chunk) : chunk;
    let filled = 0;
    // From the byte before `from`: a newline there means `from` starts a line.
    let base = range && range.from > 0 ? range.from - 1 : 0;
    let skipping = range !== undefined && range.from > 0;
    const to = range ? range.to : Infinity;
    let line = 0;
    let eof = false;
    const view: LineView = { buf, start: 0, end: 0, offset: 0, line: 0 };
    while (true) {
      if (!eof) {
        if (filled === buf.length) {
          const bigger = Buffer.allocUnsafe(buf.length * 2);
          buf.copy(bigger, 0, 0, filled);
          buf = bigger;
          view.buf = buf;
        }
        const n = readSync(fd, buf, filled, buf.length - filled, base + filled);
        if (n === 0) eof = true;
        filled += n;
      }
      let start = 0;
      if (skipping) {
        const nl = buf.indexOf(10, 0);
        if (nl === -1 || nl >= filled) {
          if (eof) return;
          base += filled;
          filled = 0;
          continue;
        }
        start = nl + 1;
        skipping = false;
      }
      while (start < filled) {
        if (base + start >= to) return;
        let nl = buf.indexOf(10, start);
        if (nl === -1 || nl >= filled) {
          if (!eof) break;
          nl = filled;
        }
        line++;
        let end = nl;
        if (end > start && buf[end - 1] === 13) end--;
        view.start = start;
        view.end = end;
        view.offset = base + start;
        view.line = line;
        yield view;
        start = nl + 1;
      }
      if (eof) return;
      buf.copy(buf, 0, start, filled);
      base += start;
      filled -= start;
    }
  } finally {
    closeSync(fd);
  }
}

/** The lines of a file as strings (UTF-8), read synchronously. */
export function* textLines(file: string): Generator<string> {
  for (const v of bufferLines(file)) yield v.buf.toString('utf8', v.start, v.end);
}
