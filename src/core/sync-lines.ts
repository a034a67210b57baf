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
 * The lines of a file, read with synchronous calls into one reused buffer (grown for a line
 * longer than it). For passes over files we wrote ourselves or trust to be JSONL, where the
 * per-line cost matters: no stream, no promise, no decoding unless the caller decodes.
 */
export function* bufferLines(file: string, chunkBytes = 1 << 20): Generator<LineView> {
  const fd = openSync(file, 'r');
  try {
    let buf = Buffer.allocUnsafe(chunkBytes);
    let filled = 0;
    let base = 0;
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
      while (start < filled) {
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
