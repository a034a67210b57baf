import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeImage } from '../../src/stages/encode-image.js';
import { resolveImage } from '../../src/stages/resolve-image.js';
import { toRequestLine } from '../../src/stages/to-request-line.js';
import { composeStages } from '../../src/core/flow/compose.js';
import { segmentsToString } from '../../src/core/shards/line-writer.js';
import { collect } from '../helpers/streams.js';
import { decoded } from '../helpers/images.js';
import { JPEG, PNG, startImageServer, type ImageServer } from '../helpers/image-server.js';
import type { DataUri, DatasetRow } from '../../src/types.js';

let server: ImageServer;
beforeAll(async () => {
  server = await startImageServer();
});
afterAll(() => server.close());

const row = (line: number, imgPath: string): DatasetRow => ({ line, id: `r${line}`, imgPath, label: 'hateful' });
const remote = { allowAddress: (a: string) => a === '127.0.0.1', timeoutMs: 2000, retries: 1, minRetryDelayMs: 10 };

describe('encodeImage with remote images', () => {
  it('downloads URLs in input order, sniffs the MIME from the bytes, and rejects each failure with its code', async () => {
    const rows = [
      row(1, server.url('/face.png')),
      row(2, server.url('/not-found.png')),
      row(3, server.url('/banner.jpg')),
      row(4, server.url('/page.png')),
      row(5, server.url('/to-file')),
      row(6, server.url('/huge-chunked.png')),
      row(7, server.url('/flaky.png')),
      row(8, 'images/face.png'),
    ];
    const out = await collect(
      (onReject) =>
        composeStages(
          resolveImage({ onReject, imageRoot: new URL('../../fixtures/', import.meta.url).pathname, imageUrls: 'fetch' }),
          encodeImage({ onReject, concurrency: 4, maxImageBytes: 100_000, remote, file: 'd.jsonl' }),
        ),
      rows,
    );
    expect(out.rows.map((r) => [r.line, (r.image as DataUri).mime])).toEqual([
      [1, 'image/png'],
      [3, 'image/jpeg'],
      [7, 'image/png'],
      [8, 'image/png'],
    ]);
    expect((out.rows[0]!.image as DataUri).data.equals(PNG)).toBe(true);
    expect((out.rows[1]!.image as DataUri).data.equals(JPEG)).toBe(true);
    expect(out.rejects.map((r) => [r.line, r.code])).toEqual([
      [2, 'E_REMOTE_FETCH'],
      [4, 'E_IMAGE_FORMAT'],
      [5, 'E_REMOTE_REFUSED'],
      [6, 'E_IMAGE_TOO_LARGE'],
    ]);
    expect(out.rejects[0]).toMatchObject({ file: 'd.jsonl', stage: 'encodeImage', message: `image ${server.url('/not-found.png')}: HTTP 404` });
    expect(out.rows.length + out.rejects.length).toBe(rows.length);
  });

  it('keeps at most `concurrency` downloads in flight, and the input order', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => row(i + 1, server.url(`/slow/${i}.png`)));
    const out = await collect(
      (onReject) => composeStages(resolveImage({ onReject, imageRoot: '.', imageUrls: 'fetch' }), encodeImage({ onReject, concurrency: 3, remote })),
      rows,
    );
    expect(out.rows.map((r) => r.line)).toEqual(rows.map((r) => r.line));
    expect(server.slow.max).toBeLessThanOrEqual(3);
    expect(server.slow.max).toBeGreaterThan(1);
  });

  it('resizes downloaded images too', async () => {
    const out = await collect(
      (onReject) => composeStages(resolveImage({ onReject, imageRoot: '.', imageUrls: 'fetch' }), encodeImage({ onReject, remote, resize: { target: { maxSide: 32 } } })),
      [row(1, server.url('/face.png'))],
    );
    expect(await decoded(out.rows[0]!.image as DataUri)).toMatchObject({ format: 'png', width: 32, height: 32 });
  });

  it('passes URLs through into the request line untouched, never fetching them', async () => {
    const before = server.hits.get('/face.png') ?? 0;
    const url = server.url('/face.png?size=large&x="q"');
    const out = await collect(
      (onReject) =>
        composeStages(
          resolveImage({ onReject, imageRoot: '.', imageUrls: 'passthrough' }),
          encodeImage({ onReject }),
          async function* (rows) {
            for await (const r of rows) yield { ...r, prompt: 'why?' };
          },
          toRequestLine({ model: 'gpt-4o', detail: 'low' }),
        ),
      [row(1, url)],
    );
    const line = JSON.parse(segmentsToString(out.rows[0]!.segments));
    expect(line.body.messages[0].content[0]).toEqual({ type: 'image_url', image_url: { url: new URL(url).href, detail: 'low' } });
    expect(server.hits.get('/face.png') ?? 0).toBe(before);
  });
});
