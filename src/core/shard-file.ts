import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ChunkSink } from './line-writer.js';

/**
 * Where a shard's bytes go. A file shard is written under `<name>.partial`, fsynced, then renamed,
 * so a file with the final name is always complete; a crash leaves only a `.partial` file, which
 * the next run removes.
 */
export interface ShardTarget {
  readonly path: string;
  readonly sink: ChunkSink;
  /** Makes the shard durable and visible under its final name. */
  commit(): Promise<void>;
  /** Removes what was written. Safe to call after a failed write. */
  discard(): Promise<void>;
}

export const PARTIAL_SUFFIX = '.partial';

export async function openShardFile(finalPath: string, options: { fsync: boolean }): Promise<ShardTarget> {
  const partial = finalPath + PARTIAL_SUFFIX;
  const handle = await open(partial, 'w');
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  return {
    path: finalPath,
    async sink(chunk) {
      let offset = 0;
      while (offset < chunk.length) {
        const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
        offset += bytesWritten;
      }
    },
    async commit() {
      if (options.fsync) await handle.sync();
      await close();
      await rename(partial, finalPath);
      if (options.fsync) await syncDirectory(path.dirname(finalPath));
    },
    async discard() {
      await close().catch(() => {});
      await rm(partial, { force: true });
    },
  };
}

/** A shard whose lines go to a stream (stdout): the shard is only a count of lines. */
export function streamShard(stream: NodeJS.WritableStream): ShardTarget {
  return {
    path: '-',
    sink: (chunk) =>
      new Promise((resolve, reject) => {
        // A copy: the writer reuses its chunk once this resolves, and a stream may still hold it then (a PassThrough passes it on by reference).
        stream.write(Buffer.from(chunk), (err) => (err ? reject(err) : resolve()));
      }),
    async commit() {},
    async discard() {},
  };
}

/** fsync a folder so a rename in it survives a power cut. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
