import { existsSync } from 'node:fs';
import { mkdir, open, readFile, truncate, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { ShardRecord } from '../types.js';
import type { JobMapping } from '../core/dataset/mapping.js';

/** Batch statuses after which a batch changes no more. */
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(['completed', 'expired', 'failed', 'cancelled']);

/**
 * The manifest: an append-only JSONL log of what happened to a job (`manifest.jsonl`). Each
 * event is written and fdatasync'd before the step it records is taken as done, so the state,
 * which is the fold of the log, survives a crash at any point: a re-run reads it and resumes.
 * A last line cut short by a crash was never acknowledged: it is dropped when the log is opened.
 */

export type { DownloadedFile, ManifestEvent, NewEvent } from './manifest-events.js';
import type { DownloadedFile, ManifestEvent, NewEvent } from './manifest-events.js';

export interface ShardState {
  shard: ShardRecord;
  /** 0 for the first submission, N for the Nth resubmission. */
  round: number;
  fileId?: string;
  batchId?: string;
  /** The name an upload of it was started under (the file may exist though its id was never recorded). */
  uploadName?: string;
  /** Times a batch for it failed on the token quota; with no `batchId`, it waits for a new one. */
  requeues?: number;
  /** Its upload seen `processed` (a resume does not wait again). */
  processedFileId?: string;
}

export interface BatchState {
  batchId: string;
  /** The shard it was created from (absent for batches read from a tracking CSV). */
  sha256?: string;
  /** That shard's round (absent: the first submission); with `sha256`, its {@link shardKey}. */
  round?: number;
  inputFileId?: string;
  /** Path of the shard file, for messages. */
  shardPath?: string;
  /** Its shard's requests: the batch's total before the API reports `request_counts`. */
  rows?: number;
  status?: string;
  requestCounts?: { total: number; completed: number; failed: number };
  outputFileId?: string | null;
  errorFileId?: string | null;
  errors?: Array<{ code: string; message: string; line?: number | null }>;
  downloaded?: { output?: DownloadedFile; error?: DownloadedFile };
  cancelRequested?: boolean;
  /** Failed on the token quota: not the shard's final state (its shard was re-queued). */
  requeued?: boolean;
  inputDeleted?: boolean;
}

export interface ManifestState {
  run?: Extract<ManifestEvent, { type: 'run' }>;
  /** Finished builds, by round. */
  builds: Map<number, Extract<ManifestEvent, { type: 'build_done' }>>;
  /** Resubmissions, by round (1, 2, ...). */
  rounds: Map<number, Extract<ManifestEvent, { type: 'round' }>>;
  /** By {@link shardKey} (sha256, and the round after the first), in shard order. */
  shards: Map<string, ShardState>;
  /** By batch id, in creation order. */
  batches: Map<string, BatchState>;
}

/**
 * A shard's key in the manifest: its sha256, with its round after the first submission, since a
 * resubmission can build a shard byte for byte the same as an earlier one (the same rows failed
 * again), and that one must be submitted again, not taken as done.
 */
export function shardKey(shard: { sha256: string; round?: number | undefined }): string {
  return shard.round ? `${shard.sha256}@round${shard.round}` : shard.sha256;
}

/** The round fields of a shard's events: left out for the first submission (as logs before rounds had them). */
export function roundField(shard: { round?: number | undefined }): { round?: number } {
  return shard.round ? { round: shard.round } : {};
}

/**
 * The shard an upload, batch or re-queue event is about. Events written before rounds were part
 * of the key carry no `round`: such an event of a resubmission's shard is the latest shard of that
 * sha256 (a job in flight when the tool was updated resumes without uploading it again).
 */
function shardOf(state: ManifestState, e: { sha256: string; round?: number }): ShardState | undefined {
  const found = state.shards.get(shardKey(e));
  if (found || e.round !== undefined) return found;
  let latest: ShardState | undefined;
  for (const s of state.shards.values()) if (s.shard.sha256 === e.sha256) latest = s;
  return latest;
}

export function emptyState(): ManifestState {
  return { shards: new Map(), batches: new Map(), builds: new Map(), rounds: new Map() };
}

/** Folds one event into the state. */
export function apply(state: ManifestState, e: ManifestEvent): void {
  switch (e.type) {
    case 'run':
      state.run = e;
      break;
    case 'build_done':
      state.builds.set(e.round ?? 0, e);
      break;
    case 'round':
      state.rounds.set(e.round, e);
      break;
    case 'shard': {
      const shard: ShardRecord = { ...e.shard, ...roundField({ round: e.round ?? e.shard.round }) };
      const key = shardKey(shard);
      state.shards.set(key, { ...state.shards.get(key), shard, round: shard.round ?? 0 });
      break;
    }
    case 'uploading': {
      const s = shardOf(state, e);
      if (s) s.uploadName = e.filename;
      break;
    }
    case 'uploaded': {
      const s = shardOf(state, e);
      if (s) s.fileId = e.file_id;
      break;
    }
    case 'batch': {
      const s = shardOf(state, e);
      if (s) s.batchId = e.batch_id;
      state.batches.set(e.batch_id, { batchId: e.batch_id, sha256: e.sha256, ...roundField(s?.shard ?? e), inputFileId: e.input_file_id, ...(s ? { shardPath: s.shard.path, rows: s.shard.rows } : {}) });
      break;
    }
    case 'status': {
      const b = batchOf(state, e.batch_id);
      b.status = e.status;
      if (e.request_counts) b.requestCounts = e.request_counts;
      if (e.output_file_id !== undefined) b.outputFileId = e.output_file_id;
      if (e.error_file_id !== undefined) b.errorFileId = e.error_file_id;
      if (e.errors) b.errors = e.errors;
      break;
    }
    case 'downloaded':
      batchOf(state, e.batch_id).downloaded = { ...(e.output ? { output: e.output } : {}), ...(e.error ? { error: e.error } : {}) };
      break;
    case 'cancel_requested':
      batchOf(state, e.batch_id).cancelRequested = true;
      break;
    case 'requeued': {
      const s = shardOf(state, e);
      if (s && (e.batch_id === undefined || s.batchId === e.batch_id)) {
        s.requeues = (s.requeues ?? 0) + 1;
        delete s.batchId;
      }
      if (e.batch_id !== undefined) batchOf(state, e.batch_id).requeued = true;
      break;
    }
    case 'input_deleted':
      batchOf(state, e.batch_id).inputDeleted = true;
      break;
    case 'file_processed': {
      const s = shardOf(state, e);
      if (s) s.processedFileId = e.file_id;
      break;
    }
  }
}

/** Unfinished: not in a terminal status (a batch just created has none yet). A re-queued batch has failed. */
export function isUnfinished(b: BatchState): boolean {
  return !b.requeued && !TERMINAL_STATUSES.has(b.status ?? '');
}

/** Shards whose batch failed on the token quota and that have no batch yet: to submit again. */
export function requeuedShards(state: ManifestState): ShardState[] {
  return [...state.shards.values()].filter((s) => s.requeues && !s.batchId);
}

/**
 * Work of the job not finished yet: a batch not finished or not downloaded, or a re-queued shard
 * still without a batch. Rows of that work are `pending`, not lost, in a merge.
 */
export function hasPendingWork(state: ManifestState): boolean {
  for (const b of state.batches.values()) if (!TERMINAL_STATUSES.has(b.status ?? '') || !b.downloaded) return true;
  return requeuedShards(state).length > 0;
}

function batchOf(state: ManifestState, id: string): BatchState {
  let b = state.batches.get(id);
  if (!b) state.batches.set(id, (b = { batchId: id }));
  return b;
}

export interface ManifestOptions {
  /**
   * Called before each event is written and after it is on disk. Throwing stops the run at that
   * point, as a crash would: the tests use it to interrupt a job between any two steps.
   */
  onAppend?: (event: ManifestEvent, phase: 'before' | 'after') => void | Promise<void>;
}

export class Manifest {
  readonly path: string;
  readonly state: ManifestState;
  readonly #options: ManifestOptions;
  #handle: FileHandle | null = null;
  #queue: Promise<void> = Promise.resolve();

  private constructor(file: string, state: ManifestState, options: ManifestOptions) {
    this.path = file;
    this.state = state;
    this.#options = options;
  }

  /** Reads the log (if any) and opens it for appending. */
  static async open(file: string, options: ManifestOptions = {}): Promise<Manifest> {
    const { state, text, complete } = await readLog(file);
    if (complete < text.length) await truncate(file, Buffer.byteLength(text.slice(0, complete)));
    return new Manifest(file, state, options);
  }

  /** Empties the log: for a job whose start sent nothing (see `sentNothing`), replaced by another. */
  async reset(): Promise<void> {
    await this.#queue;
    await this.#handle?.close();
    this.#handle = null;
    await truncate(this.path, 0).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    delete this.state.run;
    Object.assign(this.state, emptyState());
  }

  /** Writes an event and fdatasyncs it; resolves once it is on disk, then folds it in. */
  append(event: NewEvent): Promise<void> {
    const full = { at: new Date().toISOString(), ...event } as ManifestEvent;
    const next = this.#queue.then(async () => {
      await this.#options.onAppend?.(full, 'before');
      if (!this.#handle) {
        await mkdir(path.dirname(path.resolve(this.path)), { recursive: true });
        this.#handle = await open(this.path, 'a');
      }
      await this.#handle.write(`${JSON.stringify(full)}\n`);
      await this.#handle.datasync();
      apply(this.state, full);
      await this.#options.onAppend?.(full, 'after');
    });
    this.#queue = next.catch(() => {});
    return next;
  }

  async close(): Promise<void> {
    await this.#queue;
    await this.#handle?.close();
    this.#handle = null;
  }
}

/** The state a manifest's log holds, read without opening it for writing (nothing is changed). */
export async function readManifestState(file: string): Promise<ManifestState> {
  return (await readLog(file)).state;
}

async function readLog(file: string): Promise<{ state: ManifestState; text: string; complete: number }> {
  const state = emptyState();
  if (!existsSync(file)) return { state, text: '', complete: 0 };
  const text = await readFile(file, 'utf8');
  // Every event is written with its newline in one write: text after the last newline is a
  // write cut short by a crash, never acknowledged, and is dropped.
  const complete = text.lastIndexOf('\n') + 1;
  for (const [i, line] of text.slice(0, complete).split('\n').entries()) {
    if (line.trim() === '') continue;
    let event: ManifestEvent;
    try {
      event = JSON.parse(line);
    } catch (err) {
      throw new Error(`${file}: line ${i + 1} is not valid JSON (${(err as Error).message}); the manifest was edited or damaged`);
    }
    apply(state, event);
  }
  return { state, text, complete };
}
