import { open } from 'node:fs/promises';
import { leadingField } from '../core/leading-field.js';
import type { ResultSource } from './read-results.js';
import type { Stage } from '../types.js';

/** Where one result line is: enough to read it again, and its id to sort by. */
export interface ResultPointer {
  id: string;
  /** Index of the source in the list given to the merge. */
  src: number;
  /** Byte offset and length of the line (without its newline). */
  offset: number;
  length: number;
  /** Newer results have larger orders (source order, then position). */
  order: number;
}

export interface IndexResultsOptions {
  /** A line whose id cannot be found (not a result line): counted, never fatal. */
  onBadLine?: (source: string, message: string) => void | Promise<void>;
  /** Read size. Default 1 MiB. */
  chunkBytes?: number;
}

/** Batch output lines start `{"id":"batch_req_…","custom_id":"…"` (OpenAI, Azure, vLLM, ours): read the id from there. */
const PREFIX = /^\{\s*(?:"id"\s*:\s*"[^"\\]*"\s*,\s*)?"custom_id"\s*:\s*/;

/**
 * Stage: result files → one pointer per result line: its id, where it is, and its order. The
 * bytes are scanned for newlines and only the start of each line is decoded, so the ~1 KB answer
 * is neither decoded nor parsed here (the merge sorts the small pointers and reads the lines it
 * keeps once, at the end). A line of another shape is parsed whole to find its `custom_id`.
 * Memory: one read chunk, and one line when a line is longer than a chunk.
 */
export function indexResults(options: IndexResultsOptions = {}): Stage<ResultSource & { index: number }, ResultPointer> {
  const chunkBytes = options.chunkBytes ?? 1 << 20;
  return async function* indexResultsStage(sources) {
    for await (const src of sources) {
      const handle = await open(src.path, 'r');
      try {
        let buf = Buffer.allocUnsafe(chunkBytes);
        let filled = 0; // bytes of buf holding file data not yet split into lines
        let base = 0; // file offset of buf[0]
        let lineNo = 0;
        let eof = false;
        while (!eof || filled > 0) {
          if (!eof) {
            if (filled === buf.length) {
              // One line longer than the buffer: grow it.
              const bigger = Buffer.allocUnsafe(buf.length * 2);
              buf.copy(bigger, 0, 0, filled);
              buf = bigger;
            }
            const { bytesRead } = await handle.read(buf, filled, buf.length - filled, base + filled);
            if (bytesRead === 0) eof = true;
            filled += bytesRead;
          }
          let start = 0;
          for (let nl = buf.indexOf(10, start); start < filled; nl = buf.indexOf(10, start)) {
            if (nl === -1 || nl >= filled) {
              if (!eof) break;
              nl = filled; // the last line, without a newline
            }
            lineNo++;
            let end = nl;
            if (end > start && buf[end - 1] === 13) end--;
            if (end > start) {
              const id = idOf(buf, start, end);
              if (id === null) await options.onBadLine?.(`${src.path}:${lineNo}`, 'not a result line (no custom_id)');
              else yield { id, src: src.index, offset: base + start, length: end - start, order: src.order * 1e9 + lineNo };
            }
            start = nl + 1;
          }
          // Keep the unfinished line at the front.
          buf.copy(buf, 0, start, filled);
          base += start;
          filled -= start;
          if (eof && filled <= 0) break;
        }
      } finally {
        await handle.close();
      }
    }
  };
}

/** The custom_id of the line in buf[start, end), or null. */
function idOf(buf: Buffer, start: number, end: number): string | null {
  const id = leadingField(buf, start, end, PREFIX);
  if (typeof id === 'string') return id;
  try {
    const v = JSON.parse(buf.toString('utf8', start, end)) as { custom_id?: unknown };
    return typeof v?.custom_id === 'string' ? v.custom_id : null;
  } catch {
    return null;
  }
}
