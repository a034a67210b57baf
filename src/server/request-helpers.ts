import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HttpFault } from './faults.js';
import { HttpError } from './http.js';

/** What the server does with a request before its route: the URL, the key, injected faults, and requests Node's parser refused. */

/** Largest request head (request line and headers). Node's default, 16 KiB, written down. */
export const MAX_HEADER_BYTES = 16 * 1024;

export function parseUrl(target: string): URL {
  try {
    return new URL(target, 'http://local');
  } catch {
    throw new HttpError(400, `Malformed request target: ${JSON.stringify(target.slice(0, 64))}`);
  }
}

/** A path segment, percent-decoded; a malformed escape is the client's error, not a 500. */
export function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(400, `Malformed percent-encoding in the path: ${JSON.stringify(part.slice(0, 64))}`);
  }
}

export function injected(fault: HttpFault, retryAfterSeconds: number): HttpError {
  if (fault === 429) {
    return new HttpError(429, 'Rate limit reached for requests (injected fault).', {
      code: 'rate_limit_exceeded',
      headers: { 'retry-after': String(retryAfterSeconds), 'retry-after-ms': String(retryAfterSeconds * 1000) },
    });
  }
  const text = { 500: 'The server had an error while processing your request', 502: 'Bad gateway', 503: 'The server is overloaded or not ready yet' }[fault];
  return new HttpError(fault, `${text} (injected fault).`);
}

/** Answers what Node's HTTP parser refused (431 for headers over the limit, else 400) as a JSON error, then closes. */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || (err.code === 'ECONNRESET' && !socket.readable)) {
    socket.destroy();
    return;
  }
  const [status, reason] = err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout'] : [400, 'Bad Request'];
  const message = status === 431 ? `The request's headers are over the limit of ${MAX_HEADER_BYTES} bytes.` : status === 408 ? 'The request took too long.' : 'The request could not be parsed as HTTP.';
  const body = JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code: null } });
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/**
 * A check of keys against `key`. Both sides are hashed to 32-byte sha256 digests and compared with
 * `timingSafeEqual`, so neither the time taken nor the length of what was sent tells anything about
 * the key, and a key of another length is an ordinary mismatch, not an exception.
 */
export function keyChecker(key: string): (given: string | undefined) => boolean {
  const expected = digest(key);
  return (given) => given !== undefined && timingSafeEqual(digest(given), expected);
}

/** The key a request carries: `Authorization: Bearer …`, or Azure's `api-key` header. */
export function givenKey(req: IncomingMessage): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const azure = req.headers['api-key'];
  return bearer ?? (typeof azure === 'string' ? azure : undefined);
}
