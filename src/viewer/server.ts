import { readFileSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { BatchExplainError, optionError } from '../errors.js';
import { packageRoot } from '../core/io/package-root.js';
import { FLAGS } from '../core/quality/quality.js';
import type { ReportSummary } from '../core/quality/report-tally.js';
import type { QualityCheckOptions } from '../core/quality/quality-checker.js';
import { scanMerged, type ScanOptions, type ScanResult } from '../pipeline/report/report-scan.js';
import { ApiError, exportIds, fullRow, image, listRows, type ApiContext } from './api.js';
import { loadSharp, type SharpModule } from '../core/images/image-resize.js';
import { rowImages } from './images.js';
import { RowIndex } from './row-index.js';

export interface ViewerOptions extends QualityCheckOptions {
  /** The merged file (merge's output). */
  input: string;
  /** merge's errors file: reasons of rows without an explanation. */
  errors?: string;
  /** The names the page shows for `input` and `errors` when they are a copy (a merged CSV, JSON or Parquet file read as JSONL). Default: theirs. */
  shownAs?: { input: string; errors?: string };
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
 * `batch-explain view`: listens on 127.0.0.1 first (a port in use is reported before anything is
 * read), then indexes a merged file in one streaming pass (line offsets and the checks' flags in
 * typed arrays, see `RowIndex`; the report's summary from the same pass), answering the API with
 * 503 meanwhile; then serves the page and its script and style (shipped in `src/viewer/assets`),
 * and a JSON API reading rows on demand by position. Refused: requests whose Host is not this
 * machine (DNS rebinding), requests from other pages (an Origin not its own, a Sec-Fetch-Site
 * other than same-origin or none; a link from elsewhere still opens the page), and a POST whose
 * body is not `application/json` (which no page can send here without a preflight this server
 * never grants). Memory: the index, ~23 bytes a row, and the duplicate table while indexing.
 * Failures: a port in use (E_OPTION), the file's (E_INPUT), a stop signal; the server and files
 * are closed before the error is thrown.
 */
export async function startViewer(options: ViewerOptions): Promise<Viewer> {
  const { input, errors, imageRoot, confine = false, port = 8766, sharp = 'auto', signal, shownAs: _shown, ...checks } = options;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw optionError('port', port, 'a port number (0 for any free one)');
  const assetDir = path.join(packageRoot(), 'src', 'viewer', 'assets');
  const assets = new Map(Object.entries(ASSETS).map(([url, a]) => [url, { body: readFileSync(path.join(assetDir, a.file)), type: a.type }]));
  // Set once the file is indexed; until then the API answers 503.
  let ctx: ApiContext | null = null;
  let summaryJson = '';

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
    if (!(req.method === 'GET' && url.pathname === '/') && fromOtherPage(req, host)) {
      throw new ApiError(403, 'requests from other pages are refused: open the viewer at its own address');
    }
    const asset = assets.get(url.pathname);
    if (req.method === 'GET' && asset) return send(res, 200, asset.type, asset.body);
    if (req.method === 'GET' && url.pathname === '/favicon.ico') return send(res, 204, 'image/x-icon', '');
    if (!ctx) {
      res.setHeader('retry-after', '1');
      throw new ApiError(503, 'indexing the file: try again in a moment');
    }
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
  let inputHandle: FileHandle | null = null;
  let errorsHandle: FileHandle | null = null;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await inputHandle?.close();
    await errorsHandle?.close();
  };

  try {
    const started = process.hrtime.bigint();
    const { index, scan } = await indexFile(input, { ...checks, ...(errors ? { errors } : {}), ...(signal ? { signal } : {}) });
    const indexSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    inputHandle = await open(input, 'r');
    errorsHandle = errors ? await open(errors, 'r') : null;
    const indexed = await inputHandle.stat();
    const thumbnailer = sharp === 'auto' ? await loadSharp().catch(() => null) : sharp;
    const field = scan.checker.options.field;
    const { minWords, maxWords, script } = scan.checker.options;
    summaryJson = JSON.stringify({
      input: options.shownAs?.input ?? input,
      errors: (options.shownAs ? options.shownAs.errors : errors) ?? null,
      field,
      checks: { minWords, maxWords, script },
      ...scan.summary,
      flags: FLAGS,
      labels: index.labelNames,
      reasons: index.reasonNames.slice(1),
      indexSeconds,
      thumbnails: thumbnailer !== null,
    });
    ctx = {
      index,
      input: inputHandle,
      errors: errorsHandle,
      field,
      images: rowImages({ imageRoot: imageRoot ?? path.dirname(path.resolve(input)), confine, sharp: thumbnailer }),
      indexed: { size: indexed.size, mtimeMs: indexed.mtimeMs },
      ...(options.mapping ? { mapping: options.mapping } : {}),
    };
    return { url: `http://127.0.0.1:${hostPort}`, index, summary: scan.summary, indexSeconds, thumbnails: thumbnailer !== null, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The merged file's index and the report's scan, in one pass. */
async function indexFile(input: string, options: Omit<ScanOptions, 'input' | 'onRow'>): Promise<{ index: RowIndex; scan: ScanResult }> {
  const before = await stat(input).catch(() => null);
  const index = new RowIndex();
  let estimated = false;
  const scan = await scanMerged({
    ...options,
    input,
    onRow: (row, offset, length) => {
      index.add(row, offset, length);
      // Sized once from the first rows' average length: no growth (and no second copy) after.
      if (!estimated && index.count === 4096 && before) {
        estimated = true;
        index.reserve(Math.ceil((before.size / (offset + length + 1)) * 4096 * 1.05) + 1024);
      }
    },
  });
  return { index, scan };
}

/**
 * Whether a request comes from another page: an `Origin` that is not the viewer's own (sent with
 * every cross-origin fetch and every POST), or a `Sec-Fetch-Site` other than same-origin or none
 * (sent by current browsers with every request, `<img>` included; same-site is another port of
 * this machine). Clients that send neither (curl, scripts) are not browsers acting for a page.
 */
function fromOtherPage(req: IncomingMessage, host: string): boolean {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${host}`) return true;
  const site = req.headers['sec-fetch-site'];
  return site !== undefined && site !== 'same-origin' && site !== 'none';
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: ServerResponse, value: unknown): void {
  send(res, 200, 'application/json; charset=utf-8', JSON.stringify(value));
}

/** A request's JSON body: `application/json` only (a page elsewhere can send text/plain or a form without asking first). */
async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new ApiError(415, `expected a JSON body (content-type: application/json), got ${JSON.stringify(req.headers['content-type'] ?? 'none')}`);
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

