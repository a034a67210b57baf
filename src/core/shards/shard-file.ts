import { createHash } from 'node:crypto';
import { writeSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { HashThread } from './hash-thread.js';

/**
 * Where a shard's bytes go. A file shard is written under `<name>.partial`, fsynced, then renamed,
 * so a file with the final name is always complete; a crash leaves only a `.partial` file, which
 * the next run removes.
 */
export interface ShardTarget {
  readonly path: string;
  /** Takes a chunk; resolves with a buffer of the same capacity the caller may reuse (the chunk's own, or one handed back). */
  write(chunk: Buffer): Promise<Buffer>;
  /** Once every write resolved: what was written. */
  finish(): Promise<{ bytes: number; sha256: string }>;
  /** Makes the shard durable and visible under its final name. */
  commit(): Promise<void>;
  /** Removes what was written. Safe after a failed write. */
  discard(): Promise<void>;
}

export const PARTIAL_SUFFIX = '.partial';

/**
 * A file shard: chunks are written with synchronous writes (each is a copy into the page cache,
 * ~0.3 ms per MiB; the asynchronous API would add a thread hand-off per chunk) and hashed on the
 * hash thread meanwhile. fsync runs in libuv's pool at commit, while the next shard is written.
 */
export async function openShardFile(hasher: HashThread, finalPath: string, options: { fsync: boolean }): Promise<ShardTarget> {
  const partial = finalPath + PARTIAL_SUFFIX;
  const handle = await open(partial, 'w');
  let bytes = 0;
  let closed = false;
  const close = async () => {
    if (!closed) {
      closed = true;
      await handle.close();
    }
  };
  return {
    path: finalPath,
    async write(chunk) {
      for (let offset = 0; offset < chunk.length; ) offset += writeSync(handle.fd, chunk, offset, chunk.length - offset);
      bytes += chunk.length;
      return hasher.update(finalPath, chunk);
    },
    async finish() {
      return { bytes, sha256: await hasher.digest(finalPath) };
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
      // Drops the thread's unfinished hash for this shard.
      await hasher.digest(finalPath).catch(() => {});
    },
  };
}

/** A shard whose lines go to a stream (stdout): the shard is only a count of lines, hashed here. */
export function streamShard(stream: NodeJS.WritableStream): ShardTarget {
  const hash = createHash('sha256');
  let bytes = 0;
  return {
    path: '-',
    write: (chunk) =>
      new Promise((resolve, reject) => {
        hash.update(chunk);
        bytes += chunk.length;
        // A copy: a stream may still hold what it was given after its callback (a PassThrough passes it on by reference).
        stream.write(Buffer.from(chunk), (err) => (err ? reject(err) : resolve(chunk)));
      }),
    finish: async () => ({ bytes, sha256: hash.digest('hex') }),
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
