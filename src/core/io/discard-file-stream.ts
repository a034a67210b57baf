import type { WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';

/**
 * Stops a file's write stream and removes the file, once the stream has closed: a stream still
 * opening its file (on the thread pool) makes the file after a removal that came first. A write
 * still in flight fails on the destroyed stream: no news, the file is being thrown away.
 */
export async function discardFileStream(stream: WriteStream, file: string): Promise<void> {
  stream.on('error', () => {});
  if (!stream.closed) await new Promise<void>((resolve) => stream.once('close', () => resolve()).destroy());
  await rm(file, { force: true });
}
