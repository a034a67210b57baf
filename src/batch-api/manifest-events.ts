import type { ShardRecord } from '../types.js';
import type { JobMapping } from '../core/dataset/mapping.js';

/** The events of a job's manifest (manifest.ts), one a line: what happened, in order. */

export type ManifestEvent =
  /**
   * The job's start. `config` is the digest of the settings that shape the requests; `settings`
   * (absent in older logs) holds them, to name what differs when another job meets this one.
   * `base_url` and `api_version` say where the batches are (never a key), for the later commands.
   */
  | { type: 'run'; at: string; run_id: string; config: string; provider: string; endpoint: string; model: string; dataset: string; settings?: Record<string, unknown>; prompt?: string; base_url?: string; api_version?: string; local_data_dir?: string; dataset_file?: { bytes: number; mtime_ms: number; sha256: string }; mapping?: JobMapping }
  | { type: 'shard'; at: string; run_id: string; shard: ShardRecord; round?: number }
  | { type: 'build_done'; at: string; run_id: string; shards: number; rows: number; rejects: number; round?: number }
  | { type: 'round'; at: string; round: number; dataset: string; rows: number; reasons: string[] }
  | { type: 'uploading'; at: string; sha256: string; round?: number; filename: string }
  | { type: 'uploaded'; at: string; sha256: string; round?: number; file_id: string; bytes: number }
  | { type: 'batch'; at: string; sha256: string; round?: number; batch_id: string; input_file_id: string }
  | { type: 'status'; at: string; batch_id: string; status: string; request_counts?: { total: number; completed: number; failed: number }; output_file_id?: string | null; error_file_id?: string | null; errors?: Array<{ code: string; message: string; line?: number | null }> }
  | { type: 'downloaded'; at: string; batch_id: string; output?: DownloadedFile; error?: DownloadedFile }
  | { type: 'cancel_requested'; at: string; batch_id: string }
  /** A batch for the shard failed on the enqueued-token quota (at create: no batch_id): the shard waits for another. */
  | { type: 'requeued'; at: string; sha256: string; round?: number; batch_id?: string; reason: string; message: string }
  /** An input file deleted from the provider (after its batch finished), or found gone. */
  | { type: 'input_deleted'; at: string; batch_id: string; file_id: string }
  /** An upload seen `processed`: a batch can be made from it (Azure refuses one on a pending file). */
  | { type: 'file_processed'; at: string; sha256: string; round?: number; file_id: string };

export interface DownloadedFile {
  path: string;
  lines: number;
  bytes: number;
}

/** Events as given to `append`: the time is stamped there. */
export type NewEvent = ManifestEvent extends infer E ? (E extends { at: string } ? Omit<E, 'at'> : never) : never;
