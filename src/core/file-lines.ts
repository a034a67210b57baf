import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import split2 from 'split2';
import { alignToLines } from './line-aligner.js';

/**
 * The lines of a file (or of a byte stream: stdin) with their 1-based numbers, streamed (CRLF
 * accepted, nothing parsed). Used where a JSONL file is trusted to be ours or is checked line by
 * line (the local server, direct mode's request files).
 */
export async function* fileLines(file: string | NodeJS.ReadableStream, options: { maxLineBytes?: number; name?: string } = {}): AsyncGenerator<{ line: number; text: string }> {
  let line = 0;
  const maxLineBytes = options.maxLineBytes ?? 256 * 1024 * 1024;
  const lines = split2('\n', (text: string) => ({ line: ++line, text: text.endsWith('\r') ? text.slice(0, -1) : text }));
  const source = typeof file === 'string' ? createReadStream(file, { highWaterMark: 64 * 1024 }) : file;
  const name = options.name ?? (typeof file === 'string' ? file : '<stream>');
  const aligner = alignToLines({
    maxLineBytes,
    pieceBytes: 16 * 1024,
    onTooLong: (n) => new Error(`${name}: line ${n} is longer than ${maxLineBytes} bytes`),
  });
  pipeline(source, aligner, lines, () => {});
  yield* lines as AsyncIterable<{ line: number; text: string }>;
}
