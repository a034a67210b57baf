import { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';

/**
 * A `fetch` for the `openai` client built on undici's `request()`, which streams request bodies.
 * Node 20's global fetch keeps the whole body of a request while sending it (nodejs/undici#4058):
 * uploading a 180 MB shard cost ~250 MB of RSS; with this, a few MB (bench/RESULTS.md).
 * Responses are handed back as web Responses whose bodies stream, so downloads stay bounded too.
 */
export function streamingFetch(options: { dispatcher?: Dispatcher } = {}) {
  return async function fetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    const url = input instanceof Request ? input.url : String(input);
    const method = (init.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const headers: Record<string, string> = {};
    new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined)).forEach((value, key) => (headers[key] = value));
    let body: Readable | string | Uint8Array | undefined;
    const given = init.body;
    if (given == null) body = undefined;
    else if (typeof given === 'string' || given instanceof Uint8Array) body = given;
    else if (given instanceof ArrayBuffer) body = new Uint8Array(given);
    else if (typeof (given as ReadableStream).getReader === 'function') body = Readable.fromWeb(given as import('node:stream/web').ReadableStream);
    else {
      // FormData, Blob, URLSearchParams: let the platform encode it, then stream that.
      const encoded = new Response(given as ConstructorParameters<typeof Response>[0]);
      const type = encoded.headers.get('content-type');
      if (type && !headers['content-type']) headers['content-type'] = type;
      body = encoded.body ? Readable.fromWeb(encoded.body as import('node:stream/web').ReadableStream) : undefined;
    }
    const res = await request(url, {
      method: method as Dispatcher.HttpMethod,
      headers,
      ...(body === undefined ? {} : { body }),
      ...(init.signal ? { signal: init.signal } : {}),
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    });
    const responseHeaders = new Headers();
    for (const [key, value] of Object.entries(res.headers)) {
      for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) responseHeaders.append(key, String(v));
    }
    const empty = res.statusCode === 204 || res.statusCode === 304 || method === 'HEAD';
    if (empty) await res.body.dump();
    return new Response(empty ? null : (Readable.toWeb(res.body) as ReadableStream), { status: res.statusCode, headers: responseHeaders });
  };
}
