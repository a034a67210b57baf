import { WorkerPool } from '../threads/worker-pool.js';

/**
 * sha256 computed on a thread of its own (`hash-worker.js`). Chunks are transferred there and
 * back, never copied; several hashes (one per shard) can be open at once, by key.
 */
export class HashThread {
  // It allocates next to nothing: a small young generation keeps its heap at its floor.
  readonly #thread = new WorkerPool<HashMessage, { buffer?: ArrayBuffer; sha256?: string }>({ url: new URL('./hash-worker.js', import.meta.url), threads: 1, youngGenerationMb: 2, name: 'hash' });

  /** Hashes `chunk` under `key`; resolves with a buffer over the same memory, to reuse. */
  async update(key: string, chunk: Buffer): Promise<Buffer> {
    // Only a buffer owning its whole memory can be transferred (a small pooled Buffer shares a slab).
    const own = chunk.byteOffset === 0 && chunk.buffer.byteLength > Buffer.poolSize;
    const buffer = own ? (chunk.buffer as ArrayBuffer) : Uint8Array.from(chunk).buffer;
    const reply = await this.#thread.call({ op: 'update', key, buffer, length: chunk.length }, [buffer]);
    return Buffer.from(reply.buffer!);
  }

  async digest(key: string): Promise<string> {
    return (await this.#thread.call({ op: 'digest', key })).sha256!;
  }

  close(): Promise<void> {
    return this.#thread.close();
  }
}

type HashMessage = { op: 'update'; key: string; buffer: ArrayBuffer; length: number } | { op: 'digest'; key: string };
