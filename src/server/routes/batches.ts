import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, asObject, readJson, sendJson, withoutNulls } from '../http.js';
import { BATCH_ID, FILE_ID, newBatchId, nowSeconds } from '../ids.js';
import type { BatchRunner } from '../batch-runner.js';
import type { BatchObject, BatchRecord, Store } from '../store.js';

const ENDPOINTS = new Set(['/v1/chat/completions', '/chat/completions', '/v1/responses', '/v1/embeddings', '/v1/completions']);
const JSON_LIMIT = 1024 * 1024;

/** `POST /batches`: checks the request at once (4xx), then validates the file in the background. */
export async function createBatch(req: IncomingMessage, res: ServerResponse, store: Store, runner: BatchRunner, flavor: 'openai' | 'azure'): Promise<void> {
  const body = asObject(await readJson(req, JSON_LIMIT));
  const { input_file_id: inputFileId, endpoint, completion_window: window, metadata } = body;
  if (typeof inputFileId !== 'string') throw new HttpError(400, "Missing required parameter: 'input_file_id'.", { param: 'input_file_id' });
  if (typeof endpoint !== 'string' || !ENDPOINTS.has(endpoint)) throw new HttpError(400, `Invalid value for 'endpoint': ${JSON.stringify(endpoint ?? null)}.`, { param: 'endpoint' });
  if (window !== '24h') throw new HttpError(400, "Invalid value for 'completion_window': only '24h' is supported.", { param: 'completion_window' });
  checkMetadata(metadata);
  const input = FILE_ID.test(inputFileId) ? store.files.get(inputFileId) : undefined;
  if (!input) throw new HttpError(404, `No such File object: ${inputFileId}`, { param: 'input_file_id' });
  if (input.purpose !== 'batch') throw new HttpError(400, `File ${inputFileId} has purpose '${input.purpose}', not 'batch'.`, { param: 'input_file_id' });
  const created = nowSeconds();
  const batch: BatchObject = {
    id: newBatchId(),
    object: 'batch',
    endpoint,
    errors: null as never,
    input_file_id: inputFileId,
    completion_window: '24h',
    status: 'validating',
    output_file_id: null,
    error_file_id: null,
    created_at: created,
    in_progress_at: null,
    expires_at: created + 24 * 3600,
    finalizing_at: null,
    completed_at: null,
    failed_at: null,
    expired_at: null,
    cancelling_at: null,
    cancelled_at: null,
    request_counts: { total: 0, completed: 0, failed: 0 },
    metadata: (metadata as Record<string, string> | undefined) ?? null,
  };
  delete (batch as { errors?: unknown }).errors;
  const record: BatchRecord = { batch, flavor, seq: store.nextSeq() };
  await runner.admitAtCreate(record);
  await store.saveBatch(record);
  runner.start(record);
  sendJson(res, 200, withoutNulls(batch));
}

function checkMetadata(metadata: unknown): void {
  if (metadata === undefined || metadata === null) return;
  if (typeof metadata !== 'object' || Array.isArray(metadata)) throw new HttpError(400, "Invalid type for 'metadata': expected an object.", { param: 'metadata' });
  const entries = Object.entries(metadata);
  if (entries.length > 16) throw new HttpError(400, "Invalid 'metadata': at most 16 keys.", { param: 'metadata' });
  for (const [k, v] of entries) {
    if (k.length > 64) throw new HttpError(400, `Invalid 'metadata': key ${JSON.stringify(k.slice(0, 20))}… is longer than 64 characters.`, { param: 'metadata' });
    if (typeof v !== 'string' || v.length > 512) throw new HttpError(400, `Invalid 'metadata.${k}': expected a string of at most 512 characters.`, { param: `metadata.${k}` });
  }
}

export function getBatch(store: Store, id: string): BatchRecord {
  const record = BATCH_ID.test(id) ? store.batches.get(id) : undefined;
  if (!record) throw new HttpError(404, `No batch found with id '${id}'.`, { param: 'batch_id' });
  return record;
}

export async function cancelBatch(res: ServerResponse, store: Store, runner: BatchRunner, id: string): Promise<void> {
  const record = getBatch(store, id);
  const b = record.batch;
  if (b.status === 'validating' || b.status === 'in_progress' || b.status === 'finalizing') {
    b.status = 'cancelling';
    b.cancelling_at = nowSeconds();
    await store.saveBatch(record);
    runner.cancel(b.id);
  } else if (b.status !== 'cancelling') {
    throw new HttpError(400, `Cannot cancel a batch with status '${b.status}'.`, { param: 'batch_id' });
  }
  sendJson(res, 200, withoutNulls(b));
}

/** `GET /batches`: newest first, cursor `after`, `limit` 1–100 (default 20). */
export function listBatches(store: Store, query: URLSearchParams): unknown {
  const limitRaw = query.get('limit');
  const limit = limitRaw === null ? 20 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new HttpError(400, `Invalid 'limit': expected an integer from 1 to 100, got ${JSON.stringify(limitRaw)}.`, { param: 'limit' });
  let all = [...store.batches.values()].sort((a, b) => b.seq - a.seq).map((r) => withoutNulls(r.batch));
  const after = query.get('after');
  if (after) {
    const i = all.findIndex((b) => b.id === after);
    all = i === -1 ? [] : all.slice(i + 1);
  }
  const page = all.slice(0, limit);
  return withoutNulls({ object: 'list', data: page, first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null, has_more: all.length > limit });
}
