// A file reader thread (see file-reader.ts): reads whole files synchronously and hands the bytes
// to the main thread without a copy. Messages: {id, path, maxBytes} -> {id, buffer, size} (the
// buffer is transferred) or {id, error: {code, message}, size?}.
import { parentPort } from 'node:worker_threads';
import { readWholeFile } from '../read-whole-file.js';

parentPort.on('message', ({ id, path, maxBytes }) => {
  const result = readWholeFile(path, maxBytes, (size) => new Uint8Array(size));
  if ('data' in result) parentPort.postMessage({ id, buffer: result.data.buffer, size: result.size }, [result.data.buffer]);
  else parentPort.postMessage({ id, ...result });
});
