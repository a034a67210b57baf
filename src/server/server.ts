import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatchRunner } from './batch-runner.js';
import { Faults, type FaultOptions } from './faults.js';
import { HttpError, sendError, sendJson, withoutNulls } from './http.js';
import { offlineResponder, type Responder } from './responders.js';
import { cancelBatch, createBatch, getBatch, listBatches } from './routes/batches.js';
import { chatCompletions } from './routes/chat.js';
import { getFile, listFiles, sendContent, uploadFile } from './routes/files.js';
import { Store } from './store.js';

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
  /** Largest upload. Default 512 MB (OpenAI's file limit). */
  maxFileBytes?: number;
  /** Largest JSON body (a chat request with a large image). Default 64 MiB. */
  maxBodyBytes?: number;
  /** Requests per batch file. Default 50,000 (OpenAI) and 100,000 (Azure paths). */
  maxRequests?: { openai: number; azure: number };
}

export interface BatchServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
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
    if (!url.searchParams.get('api-version')) throw new HttpError(400, 'Missing required query parameter: api-version (or use the /openai/v1/ paths).', { param: 'api-version' });
    return { flavor: 'azure', path: p.slice(7) };
  }
  return null;
}

/**
 * The local Batch API server: files, batches and chat completions in the OpenAI and Azure
 * shapes, on node:http. The official `openai` client works against it unchanged.
 */
export async function startBatchServer(options: BatchServerOptions): Promise<BatchServer> {
  const store = new Store(options.dataDir);
  store.sweepOrphans();
  const faults = new Faults(options.faults);
  const responder = options.responder ?? offlineResponder();
  const runner = new BatchRunner({
    store,
    responder,
    faults,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.maxRequests === undefined ? {} : { maxRequests: options.maxRequests }),
  });
  const maxFileBytes = options.maxFileBytes ?? 512_000_000;
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024 * 1024;
  const keyDigest = options.apiKey === undefined ? null : digest(options.apiKey);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const route = routeOf(url);
    if (!route) throw new HttpError(404, `Unknown path ${url.pathname}: use /v1/…, /openai/v1/… or /openai/…?api-version=…`);
    if (keyDigest && !authorized(req, keyDigest)) {
      throw new HttpError(401, 'Incorrect API key provided.', { code: 'invalid_api_key', headers: { 'www-authenticate': 'Bearer' } });
    }
    if (faults.options.slowMs > 0) await new Promise((r) => setTimeout(r, faults.options.slowMs));
    const fault = faults.httpFault(route.path);
    if (fault === 429) {
      const seconds = faults.options.retryAfterSeconds;
      throw new HttpError(429, 'Rate limit reached for requests (injected fault).', {
        code: 'rate_limit_exceeded',
        headers: { 'retry-after': String(seconds), 'retry-after-ms': String(seconds * 1000) },
      });
    }
    if (fault === 500) throw new HttpError(500, 'The server had an error while processing your request (injected fault).');

    const m = req.method ?? 'GET';
    const parts = route.path.split('/').filter(Boolean).map(decodeURIComponent);
    const [resource, id, action] = parts;
    if (resource === 'files') {
      if (parts.length === 1 && m === 'POST') return uploadFile(req, res, store, maxFileBytes);
      if (parts.length === 1 && m === 'GET') return sendJson(res, 200, listFiles(store, url.searchParams));
      if (parts.length === 2 && m === 'GET') return sendJson(res, 200, getFile(store, id!));
      if (parts.length === 2 && m === 'DELETE') {
        getFile(store, id!);
        await store.deleteFile(id!);
        return sendJson(res, 200, { id, object: 'file', deleted: true });
      }
      if (parts.length === 3 && action === 'content' && m === 'GET') return sendContent(res, store, id!);
    }
    if (resource === 'batches') {
      if (parts.length === 1 && m === 'POST') return createBatch(req, res, store, runner, route.flavor);
      if (parts.length === 1 && m === 'GET') return sendJson(res, 200, listBatches(store, url.searchParams));
      if (parts.length === 2 && m === 'GET') return sendJson(res, 200, withoutNulls(getBatch(store, id!).batch));
      if (parts.length === 3 && action === 'cancel' && m === 'POST') return cancelBatch(res, store, runner, id!);
    }
    if (route.path === '/chat/completions' && m === 'POST') return chatCompletions(req, res, responder, maxBodyBytes);
    if (resource === 'deployments' && parts[2] === 'chat' && parts[3] === 'completions' && parts.length === 4 && m === 'POST') {
      return chatCompletions(req, res, responder, maxBodyBytes, id);
    }
    throw new HttpError(404, `Unknown route ${m} ${url.pathname}`);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const httpError = err instanceof HttpError ? err : new HttpError(500, `local server: ${(err as Error)?.message ?? String(err)}`);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // Drain what the client still sends, so it reads our answer instead of a reset connection.
      req.resume();
      sendError(res, httpError);
    });
  });
  server.requestTimeout = 0; // uploads of hundreds of MB take their time
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  runner.resumeAll();
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    store,
    runner,
    async close() {
      await runner.stopAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/** Constant-time key check on digests, so neither timing nor length tells anything about the key. */
function authorized(req: IncomingMessage, expected: Buffer): boolean {
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const azure = req.headers['api-key'];
  const given = bearer ?? (typeof azure === 'string' ? azure : undefined);
  return given !== undefined && timingSafeEqual(digest(given), expected);
}
