import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A node:http server on 127.0.0.1 serving images and misbehaving on purpose, for remote image
 * tests. Every route is bounded: streams stop at their length or when the client goes away.
 */
export interface ImageServer {
  url: (path: string) => string;
  port: number;
  /** Requests seen, by path. */
  hits: Map<string, number>;
  /** Requests to `/slow/…` being answered now, and the most at once. */
  slow: { inFlight: number; max: number };
  /** For each streamed response: bytes written and whether the client closed it before the end. */
  streams: Array<{ path: string; written: number; closedEarly: boolean }>;
  close: () => Promise<void>;
}

export const PNG = readFileSync(new URL('../../fixtures/images/face.png', import.meta.url));
export const JPEG = readFileSync(new URL('../../fixtures/images/banner.jpg', import.meta.url));

export async function startImageServer(): Promise<ImageServer> {
  const hits = new Map<string, number>();
  const streams: ImageServer['streams'] = [];
  const slow = { inFlight: 0, max: 0 };
  const sockets = new Set<import('node:net').Socket>();

  async function stream(path: string, res: ServerResponse, total: number, chunk: number, delayMs: number) {
    const record = { path, written: 0, closedEarly: false };
    streams.push(record);
    const closed = new Promise<void>((resolve) => res.on('close', () => resolve(void (record.closedEarly = !res.writableFinished))));
    const block = Buffer.alloc(chunk, 0x41);
    while (record.written < total && !res.destroyed) {
      const n = Math.min(chunk, total - record.written);
      record.written += n;
      if (!res.write(n === chunk ? block : block.subarray(0, n))) await Promise.race([new Promise((r) => res.once('drain', r)), closed]);
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    }
    if (!res.destroyed) res.end();
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    const redirect = (status: number, location: string) => res.writeHead(status, { location }).end();
    if (path.startsWith('/slow/')) {
      // The image after 200 ms: how many downloads a client keeps in flight shows here.
      slow.max = Math.max(slow.max, ++slow.inFlight);
      setTimeout(() => {
        slow.inFlight--;
        res.writeHead(200, { 'content-length': PNG.length }).end(PNG);
      }, 200);
      return;
    }
    if (path.startsWith('/flaky')) {
      // `/flaky…`: 503 with Retry-After on the first request, then the image.
      if (n === 1) return res.writeHead(503, { 'retry-after': '0' }).end('busy');
      return res.writeHead(200, { 'content-length': PNG.length }).end(PNG);
    }
    switch (path) {
      case '/face.png':
        return res.writeHead(200, { 'content-type': 'image/png', 'content-length': PNG.length }).end(PNG);
      case '/banner.jpg':
        // No length: chunked.
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        res.write(JPEG.subarray(0, 100));
        return res.end(JPEG.subarray(100));
      case '/pause.jpg':
        // No length; 100 bytes, 2 s of silence (longer than undici's coarse body timer needs to fire), the rest.
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        res.write(JPEG.subarray(0, 100));
        return void setTimeout(() => res.end(JPEG.subarray(100)), 2000);
      case '/not-found.png':
        return res.writeHead(404, { 'content-type': 'text/html' }).end('<html>404</html>');
      case '/page.png':
        return res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><html><body>a page, not an image</body></html>');
      case '/hang.png':
        return; // never answers
      case '/drip.png':
        // 1 byte every 50 ms: never idle long enough for an idle timeout, but endless for a deadline.
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': 100_000 });
        return void stream(path, res, 100_000, 1, 50);
      case '/huge-declared.png':
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': 50_000_000 });
        return void stream(path, res, 50_000_000, 65_536, 0);
      case '/chunked-640k.png':
        // 640 KB without a length, in 64 KiB pieces: more than the client buffers while it is not reading.
        res.writeHead(200, { 'content-type': 'image/png' });
        return void stream(path, res, 655_360, 65_536, 0);
      case '/huge-chunked.png':
        res.writeHead(200, { 'content-type': 'image/png' });
        return void stream(path, res, 50_000_000, 65_536, 0);
      case '/loop':
        return redirect(302, '/loop');
      case '/to-file':
        return redirect(302, 'file:///etc/passwd');
      case '/to-face':
        return redirect(301, `/face.png`);
      case '/to-other-loopback':
        return redirect(302, `http://127.0.0.2:${(server.address() as AddressInfo).port}/face.png`);
      case '/always-503.png':
        return res.writeHead(503).end('busy');
      default:
        return res.writeHead(404).end();
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    port,
    hits,
    slow,
    streams,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
