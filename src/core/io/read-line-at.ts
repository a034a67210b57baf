import { readSync } from 'node:fs';

/**
 * The line that starts at byte `offset` of an open file (without its newline or a `\r` before
 * it), read synchronously in 64 KiB steps: for the few rows read back by position after a pass
 * (the first row of a repeated explanation). Null past the end of the file.
 */
export function readLineAt(fd: number, offset: number, maxBytes = 256 * 1024 * 1024): string | null {
  const parts: Buffer[] = [];
  let at = offset;
  let total = 0;
  while (total < maxBytes) {
    const chunk = Buffer.allocUnsafe(64 * 1024);
    const n = readSync(fd, chunk, 0, chunk.length, at);
    if (n === 0) break;
    const nl = chunk.indexOf(10);
    if (nl !== -1 && nl < n) {
      parts.push(chunk.subarray(0, nl));
      total += nl;
      break;
    }
    parts.push(chunk.subarray(0, n));
    total += n;
    at += n;
  }
  if (parts.length === 0) return null;
  let text = Buffer.concat(parts, total).toString('utf8');
  if (text.endsWith('\r')) text = text.slice(0, -1);
  return text;
}
