import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

/**
 * A `fetch` for the `openai` client on node:http/https, which streams request bodies.
 * Node 20's global fetch keeps the whole body of a request while sending it (nodejs/undici#4058):
 * uploading a 180 MB shard cost ~270 MB of RSS; streamed here, the upload adds a few MB
 * (bench/RESULTS.md). undici's `request()` streams as well, but loading it costs ~19 MB of RSS
 * by itself, which node:http, already loaded, does not. Responses are web Responses whose
 * bodies stream, so downloads stay bounded too.
 */
export function streamingFetch(options: { keepAlive?: boolean } = {}) {
  const agents = { http: new HttpAgent({ keepAlive: options.keepAlive ?? true }), https: new HttpsAgent({ keepAlive: options.keepAlive ?? true }) };
  return async function fetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = (init.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const headers: Record<string, string> = {};
    new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined)).forEach((value, key) => (headers[key] = value));
    let body: Readable | Buffer | undefined;
    const given = init.body;
    if (given == null) body = undefined;
    else if (typeof given === 'string') body = Buffer.from(given);
    else if (given instanceof Uint8Array) body = Buffer.from(given.buffer, given.byteOffset, given.byteLength);
    else if (given instanceof ArrayBuffer) body = Buffer.from(given);
    else if (typeof (given as ReadableStream).getReader === 'function') body = Readable.fromWeb(given as WebReadableStream);
    else {
      // FormData, Blob, URLSearchParams: let the platform encode it, then stream that.
      const encoded = new Response(given as ConstructorParameters<typeof Response>[0]);
      const type = encoded.headers.get('content-type');
      if (type && !headers['content-type']) headers['content-type'] = type;
      body = encoded.body ? Readable.fromWeb(encoded.body as WebReadableStream) : undefined;
    }
    if (Buffer.isBuffer(body)) headers['content-length'] = String(body.length);
    const https = url.protocol === 'https:';
    const req = (https ? httpsRequest : httpRequest)(url, { method, headers, agent: https ? agents.https : agents.http, ...(init.signal ? { signal: init.signal } : {}) });
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    if (body instanceof Readable) {
      // The request is answered early when the server refuses the upload: keep that answer.
      pipeline(body, req).catch(() => {});
    } else {
      req.end(body);
    }
    const res = await response;
    const responseHeaders = new Headers();
    for (const [key, value] of Object.entries(res.headers)) {
      for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) responseHeaders.append(key, String(v));
    }
    const status = res.statusCode ?? 500;
    const empty = status === 204 || status === 304 || method === 'HEAD';
    if (empty) res.resume();
    return new Response(empty ? null : (Readable.toWeb(res) as ReadableStream), { status, statusText: res.statusMessage ?? '', headers: responseHeaders });
  };
}
