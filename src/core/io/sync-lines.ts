import { closeSync, openSync, read as readFile, readSync } from 'node:fs';

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
  /** Where the bytes read so far end in `buf` (lines after this one may be there, whole or cut). */
  filled: number;
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
export function* bufferLines(file: string, chunk: number | Buffer = LINE_CHUNK_BYTES, range?: { from: number; to: number }, read: FileRead = readSync): Generator<LineView> {
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
    const view: LineView = { buf, start: 0, end: 0, offset: 0, line: 0, filled: 0 };
    while (true) {
      if (!eof) {
        if (filled === buf.length) {
          const bigger = Buffer.allocUnsafe(buf.length * 2);
          buf.copy(bigger, 0, 0, filled);
          buf = bigger;
          view.buf = buf;
        }
        const n = read(fd, buf, filled, buf.length - filled, base + filled);
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
        view.filled = filled;
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

/** How {@link bufferLines} reads: `readSync`'s signature (the file is read front to back). */
export type FileRead = (fd: number, buf: Buffer, offset: number, length: number, position: number) => number;

/**
 * A {@link FileRead} that reads ahead on the thread pool: while the caller works through one
 * block, the next is read; a read it asks for is copied from there when it has come (the event
 * loop must turn meanwhile: the merge's output awaits its writes every MiB), else read at once.
 * For a file read front to back once, by the main thread, whose time is the merge's output's.
 */
export class ReadAhead {
  /** Two blocks: one the reads are served from, the next being read (or read). */
  readonly #slots = [0, 1].map(() => ({ buf: Buffer.allocUnsafeSlow(BLOCK), position: -1, length: 0, reading: false }));

  read = (fd: number, buf: Buffer, offset: number, length: number, position: number): number => {
    const served = this.#slots.find((s) => !s.reading && s.length > 0 && position >= s.position && position < s.position + s.length);
    const n = served ? served.buf.copy(buf, offset, position - served.position, Math.min(served.length, position - served.position + length)) : readSync(fd, buf, offset, length, position);
    // The block after the one served (or after what was read here), unless it is on its way.
    const next = served ? served.position + served.length : position + n;
    if (n > 0 && !this.#slots.some((s) => s.position === next && (s.reading || s.length > 0))) {
      const free = this.#slots.find((s) => s !== served && !s.reading);
      if (free) {
        free.position = next;
        free.length = 0;
        free.reading = true;
        readFile(fd, free.buf, 0, BLOCK, next, (err, bytes) => {
          free.reading = false;
          // A failed read ahead is left to the reads that follow (they read for themselves).
          free.length = err ? 0 : bytes;
        });
      }
    }
    return n;
  };
}

const BLOCK = 1 << 20;

/** {@link bufferLines}'s read buffer when the caller gives none: a caller reading many files makes one of this size for all. */
export const LINE_CHUNK_BYTES = 1 << 20;

/** The lines of a file as strings (UTF-8), read synchronously. */
export function* textLines(file: string): Generator<string> {
  for (const v of bufferLines(file)) yield v.buf.toString('utf8', v.start, v.end);
}
