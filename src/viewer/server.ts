import { readFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { BatchExplainError, optionError } from '../errors.js';
import { packageRoot } from '../core/package-root.js';
import { FLAGS } from '../core/quality.js';
import type { ReportSummary } from '../core/report-tally.js';
import type { QualityCheckOptions } from '../stages/quality-check.js';
import { scanMerged } from '../pipeline/report-scan.js';
import { ApiError, exportIds, fullRow, image, listRows, type ApiContext } from './api.js';
import { loadSharp, type SharpModule } from '../core/image-resize.js';
import { rowImages } from './images.js';
import { RowIndex } from './row-index.js';

export interface ViewerOptions extends QualityCheckOptions {
  /** The merged file (merge's output). */
  input: string;
  /** merge's errors file: reasons of rows without an explanation. */
  errors?: string;
  /** Base of relative `img_path`s. Default: the input's folder. */
  imageRoot?: string;
  /** Refuse images resolving outside `imageRoot`. Default false. */
  confine?: boolean;
  /** Port on 127.0.0.1; 0 takes a free one. Default 8766. */
  port?: number;
  /** sharp for thumbnails: `auto` (default) loads it if installed, as `--resize` does; null serves originals. */
  sharp?: SharpModule | null | 'auto';
  signal?: AbortSignal;
}

export interface Viewer {
  url: string;
  index: RowIndex;
  summary: ReportSummary;
  /** Seconds the index took to build. */
  indexSeconds: number;
  thumbnails: boolean;
  close(): Promise<void>;
}

const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/assets/viewer.css': { file: 'viewer.css', type: 'text/css; charset=utf-8' },
  '/assets/viewer.mjs': { file: 'viewer.mjs', type: 'text/javascript; charset=utf-8' },
  '/assets/dom.mjs': { file: 'dom.mjs', type: 'text/javascript; charset=utf-8' },
  '/assets/charts.mjs': { file: 'charts.mjs', type: 'text/javascript; charset=utf-8' },
  '/assets/marks.mjs': { file: 'marks.mjs', type: 'text/javascript; charset=utf-8' },
};

/** Every answer: nothing from elsewhere may load (no external network), no framing, no sniffing. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** Request bodies (an export's row numbers) are capped. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * `batch-explain view`: indexes a merged file in one streaming pass (line offsets and the checks'
 * flags in typed arrays, see `RowIndex`; the report's summary from the same pass), then serves a
 * viewer on 127.0.0.1: the page and its script and style (shipped in `src/viewer/assets`), and a
 * JSON API reading rows on demand by position. Requests whose Host is not this machine are
 * refused (DNS rebinding). Memory: the index, ~23 bytes a row, and the duplicate table while
 * indexing.
 */
export async function startViewer(options: ViewerOptions): Promise<Viewer> {
  const { input, errors, imageRoot, confine = false, port = 8766, sharp = 'auto', signal, ...checks } = options;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw optionError('port', port, 'a port number (0 for any free one)');
  const started = process.hrtime.bigint();
  const before = await stat(input).catch(() => null);
  const index = new RowIndex();
  let estimated = false;
  const scan = await scanMerged({
    ...checks,
    input,
    ...(errors ? { errors } : {}),
    ...(signal ? { signal } : {}),
    onRow: (row, offset, length) => {
      index.add(row, offset, length);
      // Sized once from the first rows' average length: no growth (and no second copy) after.
      if (!estimated && index.count === 4096 && before) {
        estimated = true;
        index.reserve(Math.ceil((before.size / (offset + length + 1)) * 4096 * 1.05) + 1024);
      }
    },
  });
  const indexSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const assetDir = path.join(packageRoot(), 'src', 'viewer', 'assets');
  const assets = new Map(Object.entries(ASSETS).map(([url, a]) => [url, { body: readFileSync(path.join(assetDir, a.file)), type: a.type }]));
  const inputHandle = await open(input, 'r');
  const errorsHandle = errors ? await open(errors, 'r') : null;
  const indexed = await inputHandle.stat();
  const thumbnailer = sharp === 'auto' ? await loadSharp().catch(() => null) : sharp;
  const ctx: ApiContext = {
    index,
    input: inputHandle,
    errors: errorsHandle,
    field: scan.checker.options.field,
    images: rowImages({ imageRoot: imageRoot ?? path.dirname(path.resolve(input)), confine, sharp: thumbnailer }),
    indexed: { size: indexed.size, mtimeMs: indexed.mtimeMs },
  };
  const { minWords, maxWords, script } = scan.checker.options;
  const summary = {
    input,
    errors: errors ?? null,
    field: ctx.field,
    checks: { minWords, maxWords, script },
    ...scan.summary,
    flags: FLAGS,
    labels: index.labelNames,
    reasons: index.reasonNames.slice(1),
    indexSeconds,
    thumbnails: thumbnailer !== null,
  };
  const summaryJson = JSON.stringify(summary);

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof ApiError ? err.status : 500;
      send(res, status, 'application/json; charset=utf-8', JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
    });
  });
  let hostPort = '';

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${hostPort}` && host !== `localhost:${hostPort}`) throw new ApiError(403, 'the viewer answers requests for 127.0.0.1 and localhost only');
    const url = new URL(req.url ?? '/', `http://${host}`);
    const asset = assets.get(url.pathname);
    if (req.method === 'GET' && asset) return send(res, 200, asset.type, asset.body);
    if (req.method === 'GET' && url.pathname === '/favicon.ico') return send(res, 204, 'image/x-icon', '');
    if (req.method === 'GET' && url.pathname === '/api/summary') return send(res, 200, 'application/json; charset=utf-8', summaryJson);
    if (req.method === 'GET' && url.pathname === '/api/rows') return sendJson(res, await listRows(ctx, url.searchParams));
    const m = /^\/api\/rows\/(\d{1,15})(\/image|\/thumb)?$/.exec(url.pathname);
    if (req.method === 'GET' && m) {
      const n = Number(m[1]);
      if (!m[2]) return sendJson(res, await fullRow(ctx, n));
      const img = await image(ctx, n, m[2] === '/thumb');
      if (!img.ok) throw new ApiError(img.status, img.message);
      return send(res, 200, img.mime, img.body);
    }
    if (req.method === 'POST' && url.pathname === '/api/export') {
      const { text, skipped } = await exportIds(ctx, await readJsonBody(req));
      res.setHeader('content-disposition', 'attachment; filename="marked-ids.jsonl"');
      res.setHeader('x-rows-without-id', String(skipped));
      return send(res, 200, 'application/x-ndjson; charset=utf-8', text);
    }
    throw new ApiError(url.pathname.startsWith('/api/') || assets.has(url.pathname) ? 405 : 404, `no such page: ${req.method} ${url.pathname}`);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new BatchExplainError('E_OPTION', `port ${port} on 127.0.0.1 is in use: pass --port 0 for a free one`) : err),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  });
  hostPort = String((server.address() as AddressInfo).port);
  let closed = false;
  return {
    url: `http://127.0.0.1:${hostPort}`,
    index,
    summary: scan.summary,
    indexSeconds,
    thumbnails: thumbnailer !== null,
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await inputHandle.close();
      await errorsHandle?.close();
    },
  };
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: ServerResponse, value: unknown): void {
  send(res, 200, 'application/json; charset=utf-8', JSON.stringify(value));
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ApiError(400, 'the request body is not JSON');
  }
}

