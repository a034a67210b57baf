import { createWriteStream, type WriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { batchFileId } from './ids.js';
import { DEFAULT_FILE_EXPIRY_SECONDS } from './rules.js';
import type { BatchRecord, Store } from './store.js';

/** Completed lines waiting in a window before one is written, picked at random: output order is not input order, as with the real API. */
const SHUFFLE_WINDOW = 16;

export type OutputKind = 'out' | 'err';

/**
 * The output and error files of one attempt at a batch, streamed to the store's content folder.
 * Their ids are the batch's own (the same for every attempt), so an attempt cut short after its
 * files were recorded is replaced by the next one, never left behind as an orphan file. Lines
 * pass through a small window and leave it in random order (`random`: the faults' seeded
 * generator). A write failure (disk full, no file descriptor left) is kept and thrown by the
 * next `emit` and by `close`: it fails this batch, never the server.
 */
export class BatchOutput {
  readonly #store: Store;
  readonly #random: () => number;
  readonly #ids: Record<OutputKind, string>;
  readonly #streams: Record<OutputKind, WriteStream>;
  readonly #window: Array<[OutputKind, string]> = [];
  #error: Error | null = null;

  /** Opens both files of `batchId` for a new attempt, after removing an earlier attempt's records. */
  static async open(store: Store, batchId: string, random: () => number): Promise<BatchOutput> {
    const ids = { out: batchFileId(batchId, 'output'), err: batchFileId(batchId, 'error') };
    for (const id of Object.values(ids)) if (store.files.has(id)) await store.deleteFile(id);
    return new BatchOutput(store, ids, random);
  }

  private constructor(store: Store, ids: Record<OutputKind, string>, random: () => number) {
    this.#store = store;
    this.#random = random;
    this.#ids = ids;
    this.#streams = { out: createWriteStream(store.contentPath(ids.out)), err: createWriteStream(store.contentPath(ids.err)) };
    for (const stream of Object.values(this.#streams)) stream.on('error', (err) => (this.#error ??= err));
  }

  /** A write failure so far, if any. */
  get error(): Error | null {
    return this.#error;
  }

  /** Keeps the first failure of a line's work (the other lines in flight finish first). */
  fail(err: Error): void {
    this.#error ??= err;
  }

  /** Adds a line; once the window is full, a line picked at random from it is written. */
  async emit(kind: OutputKind, text: string): Promise<void> {
    this.#window.push([kind, text]);
    if (this.#window.length >= SHUFFLE_WINDOW) await this.#writeOne();
  }

  /** Writes what the window holds and closes both files; throws a write failure (the files are then removed). */
  async close(): Promise<void> {
    while (this.#window.length > 0 && !this.#error) await this.#writeOne();
    for (const stream of Object.values(this.#streams)) stream.end();
    await Promise.all(Object.values(this.#streams).map((stream) => (stream.closed ? undefined : once(stream, 'close'))));
    if (this.#error) {
      await this.discard();
      throw this.#error;
    }
  }

  /** Closes both files whatever happened and removes them (an attempt failed part-way). */
  async abandon(): Promise<void> {
    for (const stream of Object.values(this.#streams)) stream.destroy();
    await Promise.all(Object.values(this.#streams).map((stream) => (stream.closed ? undefined : once(stream, 'close').catch(() => undefined))));
    await this.discard();
  }

  /** Removes both files' content (an attempt dropped: the server stopping, or a failure). */
  async discard(): Promise<void> {
    await Promise.all(Object.values(this.#ids).map((id) => rm(this.#store.contentPath(id), { force: true })));
  }

  /**
   * Records the closed file of `kind` in the store and returns its id, or null for an empty file
   * where the API leaves it out (OpenAI; Azure always has an error file).
   */
  async register(record: BatchRecord, kind: OutputKind, lines: number): Promise<string | null> {
    const id = this.#ids[kind];
    const bytes = (await stat(this.#store.contentPath(id))).size;
    if (lines === 0 && record.flavor !== 'azure') {
      await rm(this.#store.contentPath(id), { force: true });
      return null;
    }
    const filename = `${record.batch.id}_${kind === 'out' ? 'output' : 'error'}.jsonl`;
    const created = this.#store.now();
    // Output files expire too: `output_expires_after` if the batch asked, else 30 days (Batch guide).
    const expiresAt = created + (record.outputExpirySeconds ?? DEFAULT_FILE_EXPIRY_SECONDS);
    await this.#store.saveFile({ id, object: 'file', bytes, created_at: created, expires_at: expiresAt, filename, purpose: 'batch_output', status: 'processed' });
    return id;
  }

  async #writeOne(): Promise<void> {
    if (this.#error) throw this.#error;
    const [kind, text] = this.#window.splice(Math.floor(this.#random() * this.#window.length), 1)[0]!;
    const stream = this.#streams[kind];
    if (!stream.write(`${text}\n`)) await once(stream, 'drain');
  }
}
