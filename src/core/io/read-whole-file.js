// Reads a whole file with plain synchronous syscalls (open, fstat, read, close). Shared by the
// main thread and the reader threads (file-reader-worker.js); plain JavaScript so that a worker
// can load it without a compiler.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * @param {string} path
 * @param {number} maxBytes larger files are refused unread
 * @param {(size: number) => Uint8Array} allocate memory for the bytes
 * @returns {{ data: Uint8Array, size: number } | { error: { code: string, message: string }, size?: number }}
 *   codes: E_EMPTY, E_TOO_LARGE, ESHRANK, or the system's (ENOENT, EACCES, EISDIR...)
 */
export function readWholeFile(path, maxBytes, allocate) {
  let fd;
  try {
    fd = openSync(path, 'r');
    const { size } = fstatSync(fd);
    if (size === 0) return { error: { code: 'E_EMPTY', message: 'empty file' }, size };
    if (size > maxBytes) return { error: { code: 'E_TOO_LARGE', message: `${size} bytes` }, size };
    const data = allocate(size);
    let filled = 0;
    while (filled < size) {
      const n = readSync(fd, data, filled, size - filled, filled);
      if (n === 0) return { error: { code: 'ESHRANK', message: `file shrank while read (${filled} of ${size} bytes)` }, size };
      filled += n;
    }
    return { data, size };
  } catch (err) {
    return { error: { code: err.code ?? 'EIO', message: err.message } };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
