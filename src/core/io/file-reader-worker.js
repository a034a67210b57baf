// A file reader thread (see file-reader.ts): reads whole files synchronously and hands the bytes
// to the main thread without a copy. Calls (threads/worker-pool.ts): {path, maxBytes} ->
// {buffer, size} (the buffer is transferred) or {error: {code, message}, size?}.
import { readWholeFile } from './read-whole-file.js';
import { serveCalls } from '../threads/serve-calls.js';

serveCalls(({ path, maxBytes }) => {
  const result = readWholeFile(path, maxBytes, (size) => new Uint8Array(size));
  if ('data' in result) return { reply: { buffer: result.data.buffer, size: result.size }, transfer: [result.data.buffer] };
  return { reply: result };
});
