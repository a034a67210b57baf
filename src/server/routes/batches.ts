import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, asObject, readJson, sendJson, withoutNulls } from '../http.js';
import { fileLines } from '../../core/io/file-lines.js';
import { BATCH_ID, FILE_ID, newBatchId } from '../ids.js';
import type { BatchRunner } from '../batch-runner.js';
import { BATCH_ENDPOINTS, checkExpiresAfter, unknownDeploymentMessage, type Flavor } from '../rules.js';
import { fileReady, publicFile, type BatchObject, type BatchRecord, type Store } from '../store.js';

const JSON_LIMIT = 1024 * 1024;

/**
 * `POST /batches`: checks the request at once (4xx) by the rules of the routes used, then
 * validates the file in the background. `deployments`: Azure's deployments (null: any name).
 */
export async function createBatch(req: IncomingMessage, res: ServerResponse, store: Store, runner: BatchRunner, flavor: Flavor, deployments: ReadonlySet<string> | null): Promise<void> {
  const body = asObject(await readJson(req, JSON_LIMIT));
  const { input_file_id: inputFileId, endpoint, completion_window: window, metadata } = body;
  if (typeof inputFileId !== 'string') throw new HttpError(400, "Missing required parameter: 'input_file_id'.", { param: 'input_file_id', code: 'missing_required_parameter' });
  const endpoints = BATCH_ENDPOINTS[flavor];
  if (typeof endpoint !== 'string' || !endpoints.has(endpoint)) {
    throw new HttpError(400, `Invalid value: ${JSON.stringify(endpoint ?? null)}. Supported values are: ${[...endpoints].map((e) => `'${e}'`).join(', ')}.`, { param: 'endpoint', code: 'invalid_value' });
  }
  if (window !== '24h') throw new HttpError(400, `Invalid value: ${JSON.stringify(window ?? null)}. Supported values are: '24h'.`, { param: 'completion_window', code: 'invalid_value' });
  checkMetadata(metadata);
  const outputExpiry = checkOutputExpiry(body.output_expires_after, flavor);
  const input = FILE_ID.test(inputFileId) ? store.files.get(inputFileId) : undefined;
  if (!input) throw new HttpError(404, `No such File object: ${inputFileId}`, { param: 'input_file_id', azureCode: 'notFound' });
  if (input.purpose !== 'batch') throw new HttpError(400, `File ${inputFileId} has purpose '${input.purpose}', not 'batch'.`, { param: 'input_file_id', code: 'invalid_value' });
  if (!fileReady(input)) {
    const status = publicFile(input).status;
    // Azure's words (openai/openai-dotnet#312 and the issue's measurement); OpenAI's files are processed at once, its words are ours.
    throw new HttpError(400, `The input file '${inputFileId}' is in '${status}' state. Only files with status 'Processed' are accepted for batch inferencing.`, {
      param: 'input_file_id',
      code: 'invalid_request',
      azureCode: 'invalidPayload',
    });
  }
  if (flavor === 'azure' && deployments !== null) await checkDeployment(store.contentPath(inputFileId), deployments);
  const created = store.now();
  const batch: BatchObject = {
    id: newBatchId(),
    object: 'batch',
    endpoint,
    model: null,
    errors: null,
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
    usage: { input_tokens: 0, input_tokens_details: { cached_tokens: 0 }, output_tokens: 0, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 0 },
    metadata: (metadata as Record<string, string> | undefined) ?? null,
  };
  const record: BatchRecord = { batch, flavor, seq: store.nextSeq(), ...(outputExpiry === undefined ? {} : { outputExpirySeconds: outputExpiry }) };
  await runner.admitAtCreate(record);
  await store.saveBatch(record);
  runner.start(record);
  sendJson(res, 200, batch);
}

function checkOutputExpiry(value: unknown, flavor: Flavor): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new HttpError(400, "Invalid type for 'output_expires_after': expected an object.", { param: 'output_expires_after', code: 'invalid_type' });
  const { anchor, seconds } = value as { anchor?: unknown; seconds?: unknown };
  return checkExpiresAfter(anchor, seconds ?? null, flavor, 'output_expires_after');
}

/**
 * Azure reads the deployment named by the file's first line when the batch is created, and
 * answers an unknown one with a 400 whose body is the batch error list (as reported from
 * eastus, a fail-fast region): `{"errors":{"data":[{"code":"model_not_found",…}],"object":"list"}}`.
 */
async function checkDeployment(file: string, deployments: ReadonlySet<string>): Promise<void> {
  for await (const { text } of fileLines(file)) {
    if (text.trim() === '') continue;
    let model: unknown;
    try {
      model = (JSON.parse(text) as { body?: { model?: unknown } }).body?.model;
    } catch {
      return; // validation reports the line
    }
    if (typeof model === 'string' && !deployments.has(model)) {
      const message = unknownDeploymentMessage(model, deployments);
      throw new HttpError(400, message, { code: 'model_not_found', body: { errors: { object: 'list', data: [{ code: 'model_not_found', message, param: null, line: null }] } } });
    }
    return;
  }
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
  if (!record) throw new HttpError(404, `No batch found with id '${id}'.`, { param: 'batch_id', azureCode: 'notFound' });
  return record;
}

export async function cancelBatch(res: ServerResponse, store: Store, runner: BatchRunner, id: string): Promise<void> {
  const record = getBatch(store, id);
  const b = record.batch;
  if (b.status === 'validating' || b.status === 'in_progress' || b.status === 'finalizing') {
    // Marked and the runner told in one turn: it never moves a cancelling batch on (to in_progress or finalizing).
    b.status = 'cancelling';
    b.cancelling_at = store.now();
    // The answer is the batch as it is now (cancelling), even if it is cancelled before the record is saved.
    const answer = structuredClone(b);
    runner.cancel(b.id);
    await store.saveBatch(record);
    return sendJson(res, 200, answer);
  }
  if (b.status !== 'cancelling') throw new HttpError(400, `Cannot cancel a batch with status '${b.status}'.`, { param: 'batch_id', code: 'invalid_request' });
  sendJson(res, 200, b);
}

/** `GET /batches`: newest first, cursor `after`, `limit` 1–100 (default 20). */
export function listBatches(store: Store, query: URLSearchParams): unknown {
  const limitRaw = query.get('limit');
  const limit = limitRaw === null ? 20 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new HttpError(400, `Invalid 'limit': expected an integer from 1 to 100, got ${JSON.stringify(limitRaw)}.`, { param: 'limit' });
  let all = [...store.batches.values()].sort((a, b) => b.seq - a.seq).map((r) => r.batch);
  const after = query.get('after');
  if (after) {
    const i = all.findIndex((b) => b.id === after);
    all = i === -1 ? [] : all.slice(i + 1);
  }
  const page = all.slice(0, limit);
  return withoutNulls({ object: 'list', data: page, first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null, has_more: all.length > limit });
}
