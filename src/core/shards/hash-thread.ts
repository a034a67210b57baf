import { createHash } from 'node:crypto';
import { WorkerPool } from '../threads/worker-pool.js';

/**
 * A file's first bytes held here (copied) before its hash goes to the thread: a file no larger is
 * hashed here at its digest (~3 ms of CPU for 1 MiB), and a build of such files (a few rows: a
 * first try, the tests) never starts the thread (~40 ms of CPU and ~0.1 s to start and stop).
 * One LineWriter chunk (1 MiB): a larger file starts the thread at its second chunk.
 */
export const HELD_BYTES = 1 << 20;

/**
 * sha256 computed on a thread of its own (`hash-worker.js`), started when a file outgrows
 * {@link HELD_BYTES}. Chunks are transferred there and back, never copied; several hashes (one
 * per shard) can be open at once, by key.
 */
export class HashThread {
  #thread: WorkerPool<HashMessage, { buffer?: ArrayBuffer; sha256?: string }> | null = null;
  /** Copies of the chunks of keys not sent to the thread yet, in order. */
  readonly #held = new Map<string, { chunks: Buffer[]; bytes: number }>();
  /** Keys whose hash is open on the thread. */
  readonly #sent = new Set<string>();

  /** Hashes `chunk` under `key`; resolves with a buffer over the same memory, to reuse. */
  async update(key: string, chunk: Buffer): Promise<Buffer> {
    if (!this.#sent.has(key)) {
      const held = this.#held.get(key) ?? { chunks: [], bytes: 0 };
      if (held.bytes + chunk.length <= HELD_BYTES) {
        held.chunks.push(Buffer.from(chunk));
        held.bytes += chunk.length;
        this.#held.set(key, held);
        return chunk;
      }
      // Outgrown: what was held goes to the thread first (copies of our own, transferred). Each
      // call is posted before #send's first await, so the thread gets the chunks in this order
      // whatever update comes next.
      this.#held.delete(key);
      this.#sent.add(key);
      const flushed = held.chunks.map((copy) => this.#send(key, copy));
      const reply = this.#send(key, chunk);
      await Promise.all(flushed);
      return reply;
    }
    return this.#send(key, chunk);
  }

  async digest(key: string): Promise<string> {
    if (this.#sent.delete(key)) return (await this.#pool().call({ op: 'digest', key })).sha256!;
    const hash = createHash('sha256');
    for (const chunk of this.#held.get(key)?.chunks ?? []) hash.update(chunk);
    this.#held.delete(key);
    return hash.digest('hex');
  }

  /** Whether the thread was started (a file outgrew {@link HELD_BYTES}). */
  get threadStarted(): boolean {
    return this.#thread !== null;
  }

  close(): Promise<void> {
    this.#held.clear();
    this.#sent.clear();
    return this.#thread?.close() ?? Promise.resolve();
  }

  async #send(key: string, chunk: Buffer): Promise<Buffer> {
    // Only a buffer owning its whole memory can be transferred (a small pooled Buffer shares a slab).
    const own = chunk.byteOffset === 0 && chunk.buffer.byteLength > Buffer.poolSize;
    const buffer = own ? (chunk.buffer as ArrayBuffer) : Uint8Array.from(chunk).buffer;
    const reply = await this.#pool().call({ op: 'update', key, buffer, length: chunk.length }, [buffer]);
    return Buffer.from(reply.buffer!);
  }

  #pool(): WorkerPool<HashMessage, { buffer?: ArrayBuffer; sha256?: string }> {
    // It allocates next to nothing: a small young generation keeps its heap at its floor.
    return (this.#thread ??= new WorkerPool({ url: new URL('./hash-worker.js', import.meta.url), threads: 1, youngGenerationMb: 2, name: 'hash' }));
  }
}

type HashMessage = { op: 'update'; key: string; buffer: ArrayBuffer; length: number } | { op: 'digest'; key: string };
