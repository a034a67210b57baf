import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ByteBudget } from '../core/flow/byte-budget.js';
import { positiveInteger } from '../core/flow/options.js';
import { BatchRunner } from './batch-runner.js';
import { Faults, type FaultOptions } from './faults.js';
import type { Clock } from './clock.js';
import { HttpError, sendError, sendJson } from './http.js';
import { newRequestId } from './ids.js';
import { AZURE_BATCH_API_VERSIONS, DEFAULT_FILE_PROCESSING_MS, DEFAULT_MODELS, MAX_INPUT_FILE_BYTES, modelKnown, unknownModelMessage as unknownModel, type Flavor } from './rules.js';
import { offlineResponder, type Responder } from './responders.js';
import { cancelBatch, createBatch, getBatch, listBatches } from './routes/batches.js';
import { chatCompletions } from './routes/chat.js';
import { getFile, listFiles, sendContent, uploadFile } from './routes/files.js';
import { publicFile, Store } from './store.js';
import { answerClientError, decodePart, givenKey, injected, keyChecker, MAX_HEADER_BYTES, parseUrl } from './request-helpers.js';

export { keyChecker };

export interface BatchServerOptions {
  /** Folder for files and batches; kept across restarts. */
  dataDir: string;
  /** Default 127.0.0.1: the server is for this machine unless told otherwise. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** When set, every request must carry it (`Authorization: Bearer …` or Azure's `api-key`). */
  apiKey?: string;
  /** Default: the offline responder. */
  responder?: Responder;
  faults?: FaultOptions;
  /** Lines answered at once per batch. Default 8. */
  concurrency?: number;
  /** Largest upload. Default 209,715,200 B: the 200 MB of a batch input file (OpenAI and Azure). */
  maxFileBytes?: number;
  /** Wall-clock ms an uploaded file stays `pending` (Azure routes) or `uploaded` (OpenAI routes) before it is `processed`. Default 1500 on Azure routes, 0 on `/v1`. */
  fileProcessingMs?: Partial<Record<Flavor, number>>;
  /** Models the OpenAI routes know (others fail validation with `model_not_found`). Default {@link DEFAULT_MODELS}; null: any. */
  models?: readonly string[] | null;
  /** Deployments the Azure routes know (others are refused at create). Default null: any name given. */
  deployments?: readonly string[] | null;
  /** The server's clock (timestamps, the OpenAI 24 h window, file expiry). Default the wall clock; see `scaledClock`. */
  clock?: Clock;
  /** Largest JSON body (a chat request with a large image). Default 64 MiB. */
  maxBodyBytes?: number;
  /** Requests per batch file. Default 50,000 (OpenAI) and 100,000 (Azure paths). */
  maxRequests?: { openai: number; azure: number };
  /** Batches processed at once; the others wait their turn. Default 16. */
  maxRunningBatches?: number;
  /** Uploads received at once; the others wait (their bodies left unread). Default 32. */
  maxUploads?: number;
  /** Told of every request once its answer is sent or its connection is gone (tests count requests with it). */
  onRequest?: (info: RequestInfo) => void;
}

export interface RequestInfo {
  method: string;
  /** The URL path as sent (query left out). */
  path: string;
  /** The status answered; 0 when the connection closed before an answer was sent. */
  status: number;
  /** `Date.now()` when the request arrived. */
  at: number;
}

export interface BatchServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** The address and port the server listens on. */
  readonly address: AddressInfo;
  readonly store: Store;
  readonly runner: BatchRunner;
  /** Stops accepting requests and stops processing; batches resume on the next start. */
  close(): Promise<void>;
}

interface Route {
  flavor: 'openai' | 'azure';
  /** The path after `/v1`, `/openai/v1` or `/openai`, e.g. `/batches/batch_…/cancel`. */
  path: string;
}

/** Maps the OpenAI and Azure URL shapes onto one set of routes. */
export function routeOf(url: URL): Route | null {
  const p = url.pathname.replace(/\/+$/, '') || '/';
  if (p.startsWith('/v1/')) return { flavor: 'openai', path: p.slice(3) };
  if (p.startsWith('/openai/v1/')) return { flavor: 'azure', path: p.slice(10) };
  if (p.startsWith('/openai/')) {
    const version = url.searchParams.get('api-version');
    if (!version) throw new HttpError(404, 'Resource not found', { param: 'api-version', azureCode: '404' });
    // Azure's answer to a version it does not serve (reported: {"error":{"code":"BadRequest","message":"API version not supported"}}).
    if (!AZURE_BATCH_API_VERSIONS.has(version)) throw new HttpError(400, 'API version not supported', { param: 'api-version', azureCode: 'BadRequest' });
    return { flavor: 'azure', path: p.slice(7) };
  }
  return null;
}

/**
 * The local Batch API server: files, batches and chat completions in the OpenAI and Azure
 * shapes, on node:http. The official `openai` client works against it unchanged.
 */
export async function startBatchServer(options: BatchServerOptions): Promise<BatchServer> {
  const store = new Store(options.dataDir, options.clock);
  store.sweepOrphans();
  await store.sweepExpired();
  const models = options.models === null ? null : new Set(options.models ?? DEFAULT_MODELS);
  const deployments = options.deployments ? new Set(options.deployments) : null;
  const processingMs = { ...DEFAULT_FILE_PROCESSING_MS, ...options.fileProcessingMs };
  const faults = new Faults(options.faults);
  const responder = options.responder ?? offlineResponder();
  const runner = new BatchRunner({
    store,
    responder,
    faults,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.maxRequests === undefined ? {} : { maxRequests: options.maxRequests }),
    ...(options.maxRunningBatches === undefined ? {} : { maxRunning: options.maxRunningBatches }),
    models,
  });
  const maxFileBytes = options.maxFileBytes ?? MAX_INPUT_FILE_BYTES;
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024 * 1024;
  // Each upload in progress holds a file open: bounded, so a crowd of clients cannot run the server out of descriptors.
  const uploads = new ByteBudget(positiveInteger('maxUploads', options.maxUploads ?? DEFAULT_MAX_UPLOADS));
  const keyOk = options.apiKey === undefined ? null : keyChecker(options.apiKey);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = parseUrl(req.url ?? '/');
    res.setHeader('x-request-id', newRequestId());
    const route = routeOf(url);
    if (!route) throw new HttpError(404, `Unknown path ${url.pathname}: use /v1/…, /openai/v1/… or /openai/…?api-version=…`);
    if (keyOk && !keyOk(givenKey(req))) {
      const azure = route.flavor === 'azure' ? 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.' : null;
      throw new HttpError(401, azure ?? 'Incorrect API key provided.', { code: 'invalid_api_key', azureCode: '401', headers: { 'www-authenticate': 'Bearer' } });
    }
    const slow = faults.slowness(route.path);
    if (slow > 0) await new Promise((r) => setTimeout(r, slow));
    const fault = faults.httpFault(route.path);
    if (fault !== null) throw injected(fault, faults.options.retryAfterSeconds);

    const m = req.method ?? 'GET';
    const parts = route.path.split('/').filter(Boolean).map(decodePart);
    const [resource, id, action] = parts;
    if (resource === 'files') {
      if (parts.length === 1 && m === 'POST') {
        return inTurn(uploads, res, () => uploadFile(req, res, store, { maxBytes: maxFileBytes, faults, flavor: route.flavor, processingMs: processingMs[route.flavor] }));
      }
      if (parts.length === 1 && m === 'GET') return sendJson(res, 200, listFiles(store, url.searchParams));
      if (parts.length === 2 && m === 'GET') return sendJson(res, 200, publicFile(getFile(store, id!)));
      if (parts.length === 2 && m === 'DELETE') {
        getFile(store, id!);
        await store.deleteFile(id!);
        return sendJson(res, 200, { id, object: 'file', deleted: true });
      }
      if (parts.length === 3 && action === 'content' && m === 'GET') return sendContent(res, store, id!, faults);
    }
    if (resource === 'batches') {
      if (parts.length === 1 && m === 'POST') return createBatch(req, res, store, runner, route.flavor, deployments);
      if (parts.length === 1 && m === 'GET') return sendJson(res, 200, listBatches(store, url.searchParams));
      if (parts.length === 2 && m === 'GET') return sendJson(res, 200, getBatch(store, id!).batch);
      if (parts.length === 3 && action === 'cancel' && m === 'POST') return cancelBatch(res, store, runner, id!);
    }
    if (resource === 'models' && parts.length === 2 && m === 'GET' && route.flavor === 'openai') return sendJson(res, 200, getModel(models, id!, store.now()));
    if (route.path === '/chat/completions' && m === 'POST') return chatCompletions(req, res, responder, maxBodyBytes);
    if (resource === 'deployments' && parts[2] === 'chat' && parts[3] === 'completions' && parts.length === 4 && m === 'POST') {
      return chatCompletions(req, res, responder, maxBodyBytes, id);
    }
    throw new HttpError(404, route.flavor === 'azure' ? 'Resource not found' : `Unknown route ${m} ${url.pathname}`);
  }

  const server: Server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => {
    if (options.onRequest) {
      const info = { method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0]!, at: Date.now() };
      res.once('close', () => options.onRequest!({ ...info, status: res.headersSent ? res.statusCode : 0 }));
    }
    handle(req, res).catch((err: unknown) => {
      const httpError = err instanceof HttpError ? err : new HttpError(500, `local server: ${(err as Error)?.message ?? String(err)}`);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // Drain what the client still sends, so it reads our answer instead of a reset connection.
      req.resume();
      sendError(res, httpError, (req.url ?? '').startsWith('/openai') ? 'azure' : 'openai');
    });
  });
  server.requestTimeout = 0; // uploads of hundreds of MB take their time
  // An idle keep-alive connection is closed by the client before the server: with Node's 5 s, a
  // server stalled by load closed connections that clients were already sending on ("other side
  // closed"; bench/load.mjs at 1,000 clients). Clients keep idle sockets 4 s (undici) or until told.
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 5000;
  // Requests Node's parser refuses (huge headers, bad framing) get a JSON error too, not a bare line.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => answerClientError(err, socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  // After listening, a failed accept (no file descriptor left under load) is a refused connection
  // for that client, not the end of the server: Node would throw it as an unhandled 'error'.
  server.on('error', () => {});
  runner.resumeAll();
  // Files past their expires_at go, as on the services: repeated local jobs do not pile up.
  const sweeper = setInterval(() => void store.sweepExpired().catch(() => {}), SWEEP_EVERY_MS);
  sweeper.unref();
  const address = server.address() as AddressInfo;
  const port = address.port;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    address,
    store,
    runner,
    async close() {
      clearInterval(sweeper);
      await runner.stopAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** How often expired files are looked for (wall clock). */
const SWEEP_EVERY_MS = 1000;

/** `GET /v1/models/{id}`: a model the OpenAI routes know, or OpenAI's 404. */
function getModel(models: ReadonlySet<string> | null, id: string, now: number): unknown {
  if (!modelKnown(models, id)) throw new HttpError(404, unknownModel(id), { param: 'model', code: 'model_not_found' });
  return { id, object: 'model', created: now, owned_by: 'batch-explain-local' };
}

/** Uploads received at once (each holds a file open). */
const DEFAULT_MAX_UPLOADS = 32;

/** Runs `work` once `budget` gives it a turn; a client that leaves while it waits gives its turn up. */
async function inTurn(budget: ByteBudget, res: ServerResponse, work: () => Promise<void>): Promise<void> {
  const gone = new AbortController();
  const onClose = () => gone.abort(new HttpError(499, 'The client closed the connection.'));
  res.once('close', onClose);
  try {
    await budget.acquire(1, gone.signal);
  } finally {
    res.off('close', onClose);
  }
  try {
    await work();
  } finally {
    budget.release(1);
  }
}

/** How long an idle keep-alive connection is kept: past what clients keep them (undici 4 s), as proxies do. */
const KEEP_ALIVE_MS = 65_000;

