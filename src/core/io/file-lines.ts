import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import split2 from 'split2';
import { alignToLines } from './line-aligner.js';

/**
 * The lines of a file with their 1-based numbers, streamed (CRLF accepted, nothing parsed).
 * Used where a JSONL file is trusted to be ours or is checked line by line (the local server).
 */
export async function* fileLines(file: string, options: { maxLineBytes?: number } = {}): AsyncGenerator<{ line: number; text: string }> {
  let line = 0;
  const maxLineBytes = options.maxLineBytes ?? 256 * 1024 * 1024;
  const lines = split2('\n', (text: string) => ({ line: ++line, text: text.endsWith('\r') ? text.slice(0, -1) : text }));
  const source = createReadStream(file, { highWaterMark: 64 * 1024 });
  const aligner = alignToLines({
    maxLineBytes,
    pieceBytes: 16 * 1024,
    onTooLong: (n) => new Error(`${file}: line ${n} is longer than ${maxLineBytes} bytes`),
  });
  pipeline(source, aligner, lines, () => {});
  yield* lines as AsyncIterable<{ line: number; text: string }>;
}
