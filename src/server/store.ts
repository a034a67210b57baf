import { EventEmitter, once } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { BATCH_ID, FILE_ID } from './ids.js';
import { seconds, systemClock, type Clock } from './clock.js';

/**
 * The server's state on disk: `files/<id>.jsonl` (content) and `files/<id>.json` (the File
 * object), `batches/<id>.json` (the Batch object and what the runner needs to resume). Objects
 * are written to a temporary name and renamed, so a crash leaves the old or the new version.
 * The small objects are also kept in memory for listing; file contents never are.
 */

export interface FileObject {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  expires_at?: number;
  filename: string;
  purpose: 'batch' | 'batch_output' | string;
  /** As stored: `processed` (or `error`); shown as `pending` (Azure) or `uploaded` (OpenAI) until `local.readyAtMs`. */
  status: 'uploaded' | 'processed' | 'error' | 'pending';
  /** The server's own bookkeeping, never shown: when the file is processed (wall clock), and the routes it came through. */
  local?: { readyAtMs: number; flavor: 'openai' | 'azure' };
}

/** The File object as the API shows it: the status of the moment, the bookkeeping left out. */
export function publicFile(file: FileObject): Omit<FileObject, 'local'> {
  const { local, ...shown } = file;
  if (local && Date.now() < local.readyAtMs && shown.status === 'processed') shown.status = local.flavor === 'azure' ? 'pending' : 'uploaded';
  return shown;
}

/** Whether a file can be used for a batch yet. */
export function fileReady(file: FileObject): boolean {
  return publicFile(file).status === 'processed';
}

export type BatchStatus = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

export interface BatchObject {
  id: string;
  object: 'batch';
  endpoint: string;
  model?: string | null;
  errors?: { object: 'list'; data: Array<{ code: string; message: string; param: string | null; line: number | null }> } | null;
  input_file_id: string;
  completion_window: string;
  status: BatchStatus;
  output_file_id?: string | null;
  error_file_id?: string | null;
  created_at: number;
  in_progress_at?: number | null;
  expires_at?: number | null;
  finalizing_at?: number | null;
  completed_at?: number | null;
  failed_at?: number | null;
  expired_at?: number | null;
  cancelling_at?: number | null;
  cancelled_at?: number | null;
  request_counts: { total: number; completed: number; failed: number };
  usage?: BatchUsage;
  metadata?: Record<string, string> | null;
}

export interface BatchUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

/** What the runner keeps beside the Batch object. */
export interface BatchRecord {
  batch: BatchObject;
  /** `azure` when created through an Azure path: an error file is then always written. */
  flavor: 'openai' | 'azure';
  /** Prompt tokens estimated at validation, counted against the enqueued-token limit. */
  enqueuedTokens?: number;
  /** Creation order (several batches share a second of `created_at`). */
  seq: number;
  /** `output_expires_after.seconds` asked at create: the output and error files expire that long after they are written. */
  outputExpirySeconds?: number;
}

export const TERMINAL: ReadonlySet<BatchStatus> = new Set(['failed', 'completed', 'expired', 'cancelled']);

export class Store {
  readonly dir: string;
  readonly files = new Map<string, FileObject>();
  readonly batches = new Map<string, BatchRecord>();
  readonly clock: Clock;

  constructor(dir: string, clock: Clock = systemClock) {
    this.dir = path.resolve(dir);
    this.clock = clock;
    mkdirSync(path.join(this.dir, 'files'), { recursive: true });
    mkdirSync(path.join(this.dir, 'batches'), { recursive: true });
    for (const name of readdirSync(path.join(this.dir, 'files'))) {
      if (!name.endsWith('.json') || !FILE_ID.test(name.slice(0, -5))) continue;
      this.files.set(name.slice(0, -5), JSON.parse(readFileSync(path.join(this.dir, 'files', name), 'utf8')));
    }
    for (const name of readdirSync(path.join(this.dir, 'batches'))) {
      if (!name.endsWith('.json') || !BATCH_ID.test(name.slice(0, -5))) continue;
      this.batches.set(name.slice(0, -5), JSON.parse(readFileSync(path.join(this.dir, 'batches', name), 'utf8')));
    }
  }

  /**
   * Removes content left by a stopped server: partial uploads, temporary files of records being
   * written, and output files of batches that were running (they start over). Only when nothing
   * runs, at start-up.
   */
  sweepOrphans(): void {
    const dir = path.join(this.dir, 'files');
    for (const name of readdirSync(dir)) {
      const id = name.replace(/\.jsonl(\.partial)?$/, '');
      if (name.endsWith('.partial') || (name.endsWith('.jsonl') && !this.files.has(id))) rmSync(path.join(dir, name), { force: true });
      if (name.endsWith('.tmp')) rmSync(path.join(dir, name), { force: true });
    }
    // Batch records half-written when the server was killed (the record itself is whole: renamed into place).
    const batches = path.join(this.dir, 'batches');
    for (const name of readdirSync(batches)) if (name.endsWith('.tmp')) rmSync(path.join(batches, name), { force: true });
  }

  /** The server's time in seconds (the API's timestamps), on its clock. */
  now(): number {
    return seconds(this.clock);
  }

  /**
   * Deletes the files whose `expires_at` has passed, as the services do, but for the input
   * file of a batch still running. Returns the ids deleted.
   */
  async sweepExpired(): Promise<string[]> {
    const now = this.now();
    const inUse = new Set([...this.batches.values()].filter((r) => !TERMINAL.has(r.batch.status)).map((r) => r.batch.input_file_id));
    const gone = [...this.files.values()].filter((f) => f.expires_at !== undefined && f.expires_at <= now && !inUse.has(f.id)).map((f) => f.id);
    for (const id of gone) await this.deleteFile(id);
    return gone;
  }

  nextSeq(): number {
    let max = 0;
    for (const r of this.batches.values()) max = Math.max(max, r.seq ?? 0);
    return max + 1;
  }

  /** Path of a file's content; only for ids of the right shape. */
  contentPath(id: string): string {
    if (!FILE_ID.test(id)) throw new Error(`bad file id ${id}`);
    return path.join(this.dir, 'files', `${id}.jsonl`);
  }

  async saveFile(file: FileObject): Promise<void> {
    await writeAtomic(path.join(this.dir, 'files', `${file.id}.json`), JSON.stringify(file));
    this.files.set(file.id, file);
  }

  async deleteFile(id: string): Promise<void> {
    this.files.delete(id);
    await rm(path.join(this.dir, 'files', `${id}.json`), { force: true });
    await rm(this.contentPath(id), { force: true });
  }

  readonly #saving = new Map<string, Promise<void>>();
  readonly #saved = new EventEmitter().setMaxListeners(0);
  /** The status each batch had when it was last told of ({@link changed}). */
  readonly #toldStatus = new Map<string, string>();

  /**
   * Resolves once a batch is next saved with another status than before: a client in this
   * process (`run --provider local`) polls then rather than after a fixed wait. Saves of a running
   * batch's counts (every 250 ms) are not news: a few per batch, not a poll storm. Rejects when
   * `signal` is aborted, its listener gone.
   */
  async changed(signal?: AbortSignal): Promise<void> {
    await once(this.#saved, 'saved', signal ? { signal } : {});
  }

  /** Saves a batch's current state; saves of one batch run one after the other. */
  saveBatch(record: BatchRecord): Promise<void> {
    const id = record.batch.id;
    this.batches.set(id, record);
    const previous = this.#saving.get(id) ?? Promise.resolve();
    const next = previous
      .catch(() => {})
      .then(() => writeAtomic(path.join(this.dir, 'batches', `${id}.json`), JSON.stringify(record)));
    this.#saving.set(id, next);
    const status = record.batch.status;
    if (this.#toldStatus.get(id) !== status) {
      this.#toldStatus.set(id, status);
      next.then(() => this.#saved.emit('saved'), () => {});
    }
    next.finally(() => {
      if (this.#saving.get(id) === next) this.#saving.delete(id);
    }).catch(() => {});
    return next;
  }
}

let tmpCounter = 0;

/** How long a write waits for a file descriptor while the process has none left (EMFILE, ENFILE). */
const DESCRIPTOR_WAIT_MS = 10_000;

/**
 * Opens `file` for writing. Out of descriptors, it waits for one, trying again from 10 ms (doubling
 * up to 200 ms) for at most {@link DESCRIPTOR_WAIT_MS}: the server's own shortage (sockets of a
 * crowd of clients, running batches' files) passes as requests end, and is no client's fault. A
 * batch created at that moment used to fail with a 500 (100 clients under `ulimit -n 200`).
 */
async function openForWriting(file: string): ReturnType<typeof open> {
  const deadline = Date.now() + DESCRIPTOR_WAIT_MS;
  for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
    try {
      return await open(file, 'w');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'EMFILE' && code !== 'ENFILE') || Date.now() + wait > deadline) throw err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${tmpCounter++}.tmp`;
  const handle = await openForWriting(tmp);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
}
