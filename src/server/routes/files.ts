import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { HttpError, sendJson } from '../http.js';
import { FILE_ID, newFileId } from '../ids.js';
import type { Faults } from '../faults.js';
import { checkExpiresAfter, DEFAULT_FILE_EXPIRY_SECONDS, type Flavor } from '../rules.js';
import { publicFile, type FileObject, type Store } from '../store.js';

/** Room for the multipart framing and the small fields around the file part. */
const MULTIPART_SLACK = 64 * 1024;
const PURPOSES = new Set(['batch', 'fine-tune', 'assistants', 'vision', 'user_data', 'evals']);

export interface UploadOptions {
  maxBytes: number;
  faults?: Faults;
  /** The routes' rules: Azure files are `pending` for `processingMs`, their `expires_after` 14–30 days. */
  flavor: Flavor;
  /** Wall-clock milliseconds before the file is `processed`. */
  processingMs: number;
}

/**
 * `POST /files` (multipart): the file part is streamed to disk as it arrives, never held in
 * memory; `purpose` and `expires_after[anchor|seconds]` (or Azure's dotted names) are fields.
 * Injected faults: the connection reset halfway (nothing kept), or the answer lost after the file
 * was stored (the client must find it by name rather than upload it again).
 */
export async function uploadFile(req: IncomingMessage, res: ServerResponse, store: Store, o: UploadOptions): Promise<void> {
  const { maxBytes, faults } = o;
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('multipart/form-data')) throw new HttpError(400, "Uploads must be multipart/form-data with a 'file' part.", { param: 'file' });
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes + MULTIPART_SLACK) throw new HttpError(413, `File is too large: the request declares ${declared} bytes, the limit is ${maxBytes} bytes.`, { param: 'file' });
  const id = newFileId();
  const partial = `${store.contentPath(id)}.partial`;
  const fields: Record<string, string> = {};
  let filename: string | null = null;
  let bytes = 0;
  let tooLarge = false;
  let fileDone: Promise<void> | null = null;
  if (faults?.resetUpload()) {
    // Halfway: once some of the body has arrived, the connection goes.
    req.once('data', () => setImmediate(() => req.socket.destroy()));
  }
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: req.headers, limits: { fileSize: maxBytes, files: 1, fields: 20, fieldSize: 1024 } });
  } catch (err) {
    throw new HttpError(400, `Could not read the multipart upload: ${(err as Error).message}`);
  }
  parser.on('field', (name, value) => (fields[name] = value));
  parser.on('file', (name, stream, info) => {
    if (name !== 'file' || fileDone) {
      stream.resume();
      return;
    }
    filename = info.filename || 'upload.jsonl';
    stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
    stream.on('limit', () => (tooLarge = true));
    fileDone = pipeline(stream, createWriteStream(partial));
    // Awaited below on success; on a broken upload the parser's own error is the one reported. A
    // file that cannot be written (no descriptor or space left) stops the parser too, or the
    // request would stall, its file part no longer read.
    fileDone.catch((err: Error) => parser.destroy(err));
  });
  try {
    await pipeline(req, parser);
    await fileDone;
  } catch (err) {
    await rm(partial, { force: true });
    if (err instanceof HttpError) throw err;
    // The server's own trouble storing it (no file descriptor or space left) is not the client's fault: try again later.
    if ((err as NodeJS.ErrnoException).syscall) throw new HttpError(503, `The server could not store the upload, try again later: ${(err as Error).message}`);
    throw new HttpError(400, `Could not read the multipart upload: ${(err as Error).message}`);
  }
  if (tooLarge) {
    await rm(partial, { force: true });
    throw new HttpError(413, `File is too large: the limit is ${maxBytes} bytes.`, { param: 'file' });
  }
  if (filename === null) throw new HttpError(400, "Missing required parameter: 'file'.", { param: 'file' });
  const purpose = fields.purpose;
  if (!purpose || !PURPOSES.has(purpose)) {
    await rm(partial, { force: true });
    throw new HttpError(400, `Invalid value for 'purpose': ${JSON.stringify(purpose ?? null)}.`, { param: 'purpose' });
  }
  const created = store.now();
  let seconds: number | undefined;
  try {
    seconds = checkExpiresAfter(
      fields['expires_after[anchor]'] ?? fields['expires_after.anchor'],
      fields['expires_after[seconds]'] ?? fields['expires_after.seconds'],
      o.flavor,
      'expires_after',
    );
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
  // Batch input files expire after 30 days unless told otherwise (spec `FileExpirationAfter`).
  seconds ??= purpose === 'batch' ? DEFAULT_FILE_EXPIRY_SECONDS : undefined;
  const file: FileObject = { id, object: 'file', bytes, created_at: created, filename, purpose, status: 'processed' };
  if (seconds !== undefined) file.expires_at = created + seconds;
  if (o.processingMs > 0) file.local = { readyAtMs: Date.now() + o.processingMs, flavor: o.flavor };
  await rename(partial, store.contentPath(id));
  await store.saveFile(file);
  if (faults?.loseUploadAnswer()) {
    res.socket?.destroy();
    return;
  }
  sendJson(res, 200, publicFile(file));
}

export function getFile(store: Store, id: string): FileObject {
  const file = FILE_ID.test(id) ? store.files.get(id) : undefined;
  if (!file) throw new HttpError(404, `No such File object: ${id}`, { param: 'id', code: null, azureCode: 'notFound' });
  return file;
}

/** `GET /files/{id}/content`, streamed from disk; an injected reset cuts the connection halfway through. */
export async function sendContent(res: ServerResponse, store: Store, id: string, faults?: Faults): Promise<void> {
  const file = getFile(store, id);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.bytes });
  if (faults?.resetDownload() && file.bytes > 1) {
    const half = Math.floor(file.bytes / 2);
    return sendThenReset(createReadStream(store.contentPath(id), { end: half - 1 }), res);
  }
  await pipeline(createReadStream(store.contentPath(id)), res);
}

/** Writes what `source` gives, then destroys the connection: the client sees a body shorter than its content-length. */
async function sendThenReset(source: AsyncIterable<Buffer>, res: ServerResponse): Promise<void> {
  for await (const chunk of source) if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
  await new Promise<void>((resolve) => (res.socket ? res.socket.write('', () => resolve()) : resolve()));
  res.socket?.destroy();
}

export function listFiles(store: Store, query: URLSearchParams): unknown {
  const purpose = query.get('purpose');
  const order = query.get('order') === 'asc' ? 1 : -1;
  const limit = Math.min(Math.max(Number(query.get('limit') ?? 10_000) || 10_000, 1), 10_000);
  let files = [...store.files.values()].filter((f) => !purpose || f.purpose === purpose);
  files.sort((a, b) => order * (a.created_at - b.created_at || a.id.localeCompare(b.id)));
  const after = query.get('after');
  if (after) {
    const i = files.findIndex((f) => f.id === after);
    files = i === -1 ? [] : files.slice(i + 1);
  }
  const page = files.slice(0, limit).map(publicFile);
  // first_id and last_id are required strings in the spec, even for an empty page.
  return { object: 'list', data: page, first_id: page[0]?.id ?? '', last_id: page.at(-1)?.id ?? '', has_more: files.length > limit };
}
