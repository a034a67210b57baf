import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPublicAddress } from '../../../src/core/images/address-policy.js';
import { remoteImageFetcher, type RemoteImageFetcher, type RemoteImageOptions } from '../../../src/core/images/remote-image.js';
import { JPEG, PNG, startImageServer, type ImageServer } from '../../helpers/image-server.js';

let server: ImageServer;
const opened: RemoteImageFetcher[] = [];
/** Only the test server's own address is allowed (127.0.0.2 is loopback too, but not allowed). */
const onlyServer = (address: string) => address === '127.0.0.1';

async function fetcher(options: Partial<RemoteImageOptions> = {}) {
  const f = await remoteImageFetcher({ maxBytes: 1_000_000, timeoutMs: 2000, retries: 0, minRetryDelayMs: 10, allowAddress: onlyServer, ...options });
  opened.push(f);
  return f;
}
const noReserve = async () => {};

beforeAll(async () => {
  server = await startImageServer();
});
afterAll(async () => {
  await Promise.all(opened.map((f) => f.close()));
  await server.close();
});

describe('isPublicAddress', () => {
  it.each(['8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8'])('allows %s', (a) => expect(isPublicAddress(a)).toBe(true));
  it.each([
    '127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255',
    '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:169.254.169.254', '64:ff9b::a9fe:a9fe', '2002:a9fe:a9fe::1', 'not an address',
  ])('refuses %s', (a) => expect(isPublicAddress(a)).toBe(false));
});

describe('remoteImageFetcher', () => {
  it('downloads with and without Content-Length, following a redirect', async () => {
    const f = await fetcher();
    const reserved: number[] = [];
    const a = await f.fetch(server.url('/face.png'), async (n) => void reserved.push(n));
    expect(a.ok && a.data.equals(PNG)).toBe(true);
    expect(reserved).toEqual([PNG.length]);
    const b = await f.fetch(server.url('/banner.jpg'), noReserve);
    expect(b.ok && b.data.equals(JPEG)).toBe(true);
    const c = await f.fetch(server.url('/to-face'), noReserve);
    expect(c.ok && c.data.equals(PNG)).toBe(true);
  });

  it('reports 404 without retrying, and retries 503 honouring Retry-After', async () => {
    const f = await fetcher({ retries: 2 });
    expect(await f.fetch(server.url('/not-found.png'), noReserve)).toMatchObject({ ok: false, code: 'E_REMOTE_FETCH', message: 'HTTP 404' });
    expect(server.hits.get('/not-found.png')).toBe(1);
    const flaky = await f.fetch(server.url('/flaky.png'), noReserve);
    expect(flaky.ok && flaky.data.equals(PNG)).toBe(true);
    expect(server.hits.get('/flaky.png')).toBe(2);
    expect(await f.fetch(server.url('/always-503.png'), noReserve)).toMatchObject({ ok: false, code: 'E_REMOTE_FETCH', message: 'HTTP 503 (3 attempts)' });
    expect(server.hits.get('/always-503.png')).toBe(3);
  });

  it('gives up on a server that never answers and on a slow drip, at the deadline', async () => {
    const f = await fetcher({ timeoutMs: 600 });
    expect(await f.fetch(server.url('/hang.png'), noReserve)).toMatchObject({ ok: false, code: 'E_REMOTE_FETCH', message: expect.stringMatching(/no complete answer within 0.6 s/) });
    expect(await f.fetch(server.url('/drip.png'), noReserve)).toMatchObject({ ok: false, code: 'E_REMOTE_FETCH', message: expect.stringMatching(/no complete answer/) });
    const drip = server.streams.find((s) => s.path === '/drip.png')!;
    await expect.poll(() => drip.closedEarly, { timeout: 5000 }).toBe(true);
    expect(drip.written).toBeLessThan(1000);
  });

  it('does not count the wait for the memory budget against the deadline: no timeout, one request', async () => {
    // A deadline of 1 s (not shorter: outside the waits, a download must finish within it on a busy machine).
    const f = await fetcher({ timeoutMs: 1000, retries: 2 });
    // The budget is full for three times the deadline or more, once per download.
    const slowReserve = (ms = 3000) => {
      let waited = false;
      const reserved: number[] = [];
      const reserve = async (n: number) => {
        reserved.push(n);
        if (!waited) await new Promise((r) => setTimeout(r, ms));
        waited = true;
      };
      return { reserve, reserved };
    };
    // With a Content-Length: the wait comes before the body is read.
    const hits = (path: string) => server.hits.get(path) ?? 0;
    const faceBefore = hits('/face.png');
    const declared = slowReserve();
    const a = await f.fetch(server.url('/face.png'), declared.reserve);
    expect(a.ok && a.data.equals(PNG)).toBe(true);
    expect(declared.reserved).toEqual([PNG.length]);
    expect(hits('/face.png') - faceBefore).toBe(1);
    // Without: the wait comes mid-body, the server still sending (its socket paused while nothing reads).
    const chunked = slowReserve();
    const b = await f.fetch(server.url('/chunked-640k.png'), chunked.reserve);
    expect(b.ok && b.data.length).toBe(655_360);
    expect(chunked.reserved.length).toBeGreaterThan(1);
    expect(hits('/chunked-640k.png')).toBe(1);
    // The server silent for longer than the deadline while the row waits: nothing lost either.
    const silent = slowReserve(3500);
    const c = await f.fetch(server.url('/pause.jpg'), silent.reserve);
    expect(c.ok && c.data.equals(JPEG)).toBe(true);
    expect(hits('/pause.jpg')).toBe(1);
    // The deadline still holds outside the waits.
    expect(await f.fetch(server.url('/hang.png'), slowReserve().reserve)).toMatchObject({ ok: false, code: 'E_REMOTE_FETCH', message: 'no complete answer within 1 s (3 attempts)' });
  });

  it('waits what Retry-After asks for instead of the backoff, not on top of it', { timeout: 60_000 }, async () => {
    // Backoff would wait 20 s before the second request; the server's Retry-After: 0 says now.
    const f = await fetcher({ retries: 1, minRetryDelayMs: 20_000 });
    const started = Date.now();
    const got = await f.fetch(server.url('/flaky-retry-after.png'), noReserve);
    expect(got.ok && got.data.equals(PNG)).toBe(true);
    expect(server.hits.get('/flaky-retry-after.png')).toBe(2);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('stops reading past the size cap: the server sees the connection closed long before its 50 MB', async () => {
    const f = await fetcher({ maxBytes: 200_000 });
    expect(await f.fetch(server.url('/huge-declared.png'), noReserve)).toMatchObject({ ok: false, code: 'E_IMAGE_TOO_LARGE', message: expect.stringMatching(/Content-Length 50000000, over the limit of 200000/) });
    const reserved: number[] = [];
    expect(await f.fetch(server.url('/huge-chunked.png'), async (n) => void reserved.push(n))).toMatchObject({ ok: false, code: 'E_IMAGE_TOO_LARGE' });
    // Without a length, the budget is asked as the bytes come, never past the cap.
    expect(Math.max(...reserved)).toBeLessThanOrEqual(200_000);
    for (const path of ['/huge-declared.png', '/huge-chunked.png']) {
      const s = server.streams.find((x) => x.path === path)!;
      await expect.poll(() => s.closedEarly, { timeout: 5000 }).toBe(true);
      expect(s.written, path).toBeLessThan(20_000_000);
    }
  });

  it('refuses a redirect loop, a redirect to file:, and addresses outside the policy (no request made to them)', async () => {
    const f = await fetcher({ maxRedirects: 3 });
    expect(await f.fetch(server.url('/loop'), noReserve)).toMatchObject({ ok: false, code: 'E_REMOTE_FETCH', message: expect.stringMatching(/more than 3 redirects/) });
    expect(server.hits.get('/loop')).toBe(4);
    expect(await f.fetch(server.url('/to-file'), noReserve)).toMatchObject({ ok: false, code: 'E_REMOTE_REFUSED', message: expect.stringMatching(/redirected to file:\/\/\/etc\/passwd: only http and https/) });
    expect(await f.fetch(server.url('/to-other-loopback'), noReserve)).toMatchObject({ ok: false, code: 'E_REMOTE_REFUSED', message: expect.stringMatching(/127\.0\.0\.2:\d+ is not a public address/) });
    const before = server.hits.get('/face.png') ?? 0;
    // The default policy: loopback is private, by literal address and by name (checked where the name resolves).
    const strict = await fetcher({ allowAddress: undefined });
    expect(await strict.fetch(server.url('/face.png'), noReserve)).toMatchObject({ ok: false, code: 'E_REMOTE_REFUSED' });
    expect(await strict.fetch(`http://localhost:${server.port}/face.png`, noReserve)).toMatchObject({ ok: false, code: 'E_REMOTE_REFUSED', message: expect.stringMatching(/localhost resolves to .*not a public address/) });
    expect(server.hits.get('/face.png') ?? 0).toBe(before);
    // --remote-allow-private lets them through.
    const open = await fetcher({ allowAddress: undefined, allowPrivate: true });
    expect(await open.fetch(`http://localhost:${server.port}/face.png`, noReserve)).toMatchObject({ ok: true });
  });

  it('stops at once when its signal aborts', async () => {
    const f = await fetcher({ timeoutMs: 10_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stopped')), 100);
    await expect(f.fetch(server.url('/hang.png'), noReserve, controller.signal)).rejects.toThrow();
  });
});
