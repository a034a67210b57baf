import { Worker } from 'node:worker_threads';

/**
 * sha256 computed on a thread of its own (`hash-worker.js`). Chunks are transferred there and
 * back, never copied; several hashes (one per shard) can be open at once, by key.
 */
export class HashThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (reply: HashReply) => void; reject: (err: Error) => void }>();
  #nextId = 0;
  #failure: Error | null = null;

  constructor() {
    // It allocates next to nothing: a small young generation keeps its heap at its floor.
    this.#worker = new Worker(new URL('./hash-worker.js', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 2 } });
    this.#worker.on('message', (reply: HashReply) => {
      const waiter = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      waiter?.resolve(reply);
    });
    const fail = (err: Error) => {
      this.#failure ??= err;
      for (const w of this.#pending.values()) w.reject(err);
      this.#pending.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`hash thread exited (${code})`)));
  }

  /** Hashes `chunk` under `key`; resolves with a buffer over the same memory, to reuse. */
  async update(key: string, chunk: Buffer): Promise<Buffer> {
    // Only a buffer owning its whole memory can be transferred (a small pooled Buffer shares a slab).
    const own = chunk.byteOffset === 0 && chunk.buffer.byteLength > Buffer.poolSize;
    const buffer = own ? (chunk.buffer as ArrayBuffer) : Uint8Array.from(chunk).buffer;
    const reply = await this.#request({ op: 'update', key, buffer, length: chunk.length }, [buffer]);
    return Buffer.from(reply.buffer!);
  }

  async digest(key: string): Promise<string> {
    return (await this.#request({ op: 'digest', key })).sha256!;
  }

  async close(): Promise<void> {
    this.#worker.removeAllListeners('exit');
    await this.#worker.terminate();
  }

  #request(message: object, transfer: ArrayBuffer[] = []): Promise<HashReply> {
    if (this.#failure) return Promise.reject(this.#failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...message, id }, transfer);
    });
  }
}

interface HashReply {
  id: number;
  buffer?: ArrayBuffer;
  sha256?: string;
}
