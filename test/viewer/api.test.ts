import { request } from 'node:http';
import { crc32 } from 'node:zlib';
import { appendFile, copyFile, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESIZE_DEFAULTS } from '../../src/core/images/image-resize.js';
import { rowImages } from '../../src/viewer/images.js';
import { startViewer, type Viewer } from '../../src/viewer/server.js';
import { tempDir } from '../helpers/server.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const merged = path.join(fixtures, 'merged.jsonl');
const errors = path.join(fixtures, 'merged.jsonl.errors.jsonl');

/** A raw request: the path is sent as written (no URL normalisation), with any Host. */
function raw(url: string, rawPath: string, host?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: rawPath, headers: host ? { host } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const ids = (rows: Array<{ id: string | null }>) => rows.map((r) => r.id);

describe('the viewer HTTP API on the fixtures', () => {
  let viewer: Viewer;
  let get: (p: string) => Promise<Response>;
  let json: (p: string) => Promise<any>;

  beforeAll(async () => {
    viewer = await startViewer({ input: merged, errors, script: 'arabic', port: 0 });
    get = (p) => fetch(viewer.url + p);
    json = async (p) => {
      const res = await get(p);
      expect(res.status, p).toBe(200);
      return res.json();
    };
  });
  afterAll(() => viewer?.close());

  it('pages rows in file order, with the total', async () => {
    const first = await json('/api/rows?size=5');
    expect(first).toMatchObject({ total: 16, page: 0, size: 5, pages: 4 });
    expect(ids(first.rows)).toEqual(['armeme-0001', 'armeme-0002', 'armeme-0003', '4', 'hm-42953']);
    expect(first.rows[0]).toMatchObject({ n: 0, line: 1, label: 'propaganda', textDir: 'rtl', explanationDir: 'rtl', flags: [], hasImage: true });
    expect(first.rows[4]).toMatchObject({ textDir: 'ltr', explanationDir: 'ltr', flags: ['wrong_language'] });
    const last = await json('/api/rows?size=5&page=3');
    expect(ids(last.rows)).toEqual(['hm-20000']);
    expect((await json('/api/rows?size=5&page=9')).rows).toEqual([]);
    expect((await get('/api/rows?size=201')).status).toBe(400);
    expect((await get('/api/rows?page=-1')).status).toBe(400);
  });

  it('filters by flag, label and reason, alone and together', async () => {
    expect(ids((await json('/api/rows?flag=missing')).rows)).toEqual(['armeme-0010', 'armeme-0011', 'armeme-0012', null]);
    // The first row of a repeated text is flagged too (known only when the second came).
    expect(ids((await json('/api/rows?flag=duplicate_text')).rows)).toEqual(['armeme-0008', 'armeme-0009']);
    expect((await json('/api/rows?flag=any')).total).toBe(12);
    expect(ids((await json('/api/rows?flag=none')).rows)).toEqual(['armeme-0001', 'armeme-0002', 'hm-10387', 'hm-20000']);
    expect((await json('/api/rows?label=propaganda')).total).toBe(7);
    expect(ids((await json('/api/rows?label=propaganda&flag=mentions_reclassification')).rows)).toEqual(['armeme-0014']);
    const reason = await json('/api/rows?reason=api_error');
    expect(reason.rows.map((r: any) => [r.id, r.reason, r.flags])).toEqual([['armeme-0010', 'api_error', ['missing']]]);
    expect((await get('/api/rows?label=nope')).status).toBe(400);
    expect((await get('/api/rows?flag=nope')).status).toBe(400);
  });

  it('searches id, label, text and explanation: case, diacritics and letter forms ignored, key names not searched', async () => {
    expect(ids((await json(`/api/rows?q=${encodeURIComponent('زعيم')}`)).rows)).toEqual(['armeme-0008', 'armeme-0009']);
    expect(ids((await json(`/api/rows?q=${encodeURIComponent('زَعِيم')}`)).rows)).toEqual(['armeme-0008', 'armeme-0009']);
    expect(ids((await json(`/api/rows?q=${encodeURIComponent('اولا')}`)).rows)).toEqual(['armeme-0001']); // أولاً
    expect(ids((await json(`/api/rows?q=${encodeURIComponent('أولاً تحيا')}`)).rows)).toEqual(['armeme-0001']); // across the text's line break
    expect(ids((await json('/api/rows?q=GROUP%20CHAT')).rows)).toEqual(['hm-42953']);
    expect(ids((await json('/api/rows?q=hm-103')).rows)).toEqual(['hm-10387']);
    expect(ids((await json('/api/rows?q=loaded%20language')).rows)).toEqual(['armeme-0003']);
    expect((await json('/api/rows?q=img_path')).rows).toEqual([]);
    expect((await json('/api/rows?q=generated_explanation')).rows).toEqual([]);
    // A label given as an array is shown (and searched) joined: "propaganda, loaded language".
    expect(ids((await json(`/api/rows?q=${encodeURIComponent('propaganda, loaded')}`)).rows)).toEqual(['armeme-0003']);
    const page = await json(`/api/rows?q=${encodeURIComponent('الميم')}&size=2&flag=none`);
    expect(ids(page.rows)).toEqual(['armeme-0001', 'armeme-0002']);
    const rest = await json(`/api/rows?q=${encodeURIComponent('الميم')}&size=2&flag=none&from=${page.next}`);
    expect(ids(rest.rows)).toEqual(['hm-10387', 'hm-20000']);
  });

  it('a search comes back in steps when its read budget runs out, and the steps add up', async () => {
    const { searchRows } = await import('../../src/viewer/search.js');
    const { open } = await import('node:fs/promises');
    const file = await open(merged, 'r');
    try {
      const all = await searchRows({ index: viewer.index, file, field: 'generated_explanation', query: 'الميم', filter: {}, from: 0, limit: 100 });
      expect(all.next).toBeNull();
      const stepped: number[] = [];
      let from: number | null = 0;
      let steps = 0;
      while (from !== null) {
        const step = await searchRows({ index: viewer.index, file, field: 'generated_explanation', query: 'الميم', filter: {}, from, limit: 100, budgetBytes: 1 });
        stepped.push(...step.rows);
        from = step.next;
        steps++;
      }
      expect(stepped).toEqual(all.rows);
      expect(steps).toBeGreaterThan(5);
    } finally {
      await file.close();
    }
  });

  it('a row in full: every field, and why it has no explanation', async () => {
    const row = await json('/api/rows/9');
    expect(row).toMatchObject({ id: 'armeme-0010', explanation: null, reason: 'api_error', row: { id: 'armeme-0010', platform: 'Facebook' } });
    expect(row.failure).toMatchObject({ line: 10, reason: 'api_error', code: 'server_error' });
    const notObject = await json('/api/rows/14');
    expect(notObject).toMatchObject({ id: null, row: [1, 2, 3], failure: { code: 'E_NOT_OBJECT' } });
    expect((await get('/api/rows/16')).status).toBe(404);
    expect((await get('/api/rows/99999999999')).status).toBe(404);
  });

  it("serves a row's own image: a thumbnail through sharp, the original at full size", async () => {
    const full = await get('/api/rows/0/image');
    expect(full.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await full.arrayBuffer()).equals(await readFile(path.join(fixtures, 'images/banner.jpg')))).toBe(true);
    const thumb = await get('/api/rows/0/thumb');
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(320);
    expect((await get('/api/rows/2/image')).headers.get('content-type')).toBe('image/webp'); // bubble.webp as it is
    expect((await get('/api/rows/11/image')).status).toBe(404); // does-not-exist.jpg
    expect(await (await get('/api/rows/15/image')).json()).toMatchObject({ error: expect.stringMatching(/not an image the viewer shows: SVG or HTML text/) });
    expect((await get('/api/rows/14/image')).status).toBe(404); // a line that is not a row
  });

  it('never serves a path from the URL', async () => {
    const banner = await readFile(path.join(fixtures, 'images/banner.jpg'));
    // A query naming another file changes nothing: row 0's image comes back.
    const q = await raw(viewer.url, '/api/rows/0/image?path=/etc/passwd&img_path=../../package.json');
    expect(q.status).toBe(200);
    expect(q.body.equals(banner)).toBe(true);
    for (const p of ['/api/rows/0/image/../../../../etc/passwd', '/api/rows/..%2F..%2Fetc%2Fpasswd/image', '/api/rows/0/%2e%2e/%2e%2e/package.json', '/assets/../package.json', '/assets/..%2F..%2Fpackage.json', '/images/banner.jpg', '/fixtures/images/banner.jpg', '//etc/passwd']) {
      const r = await raw(viewer.url, p);
      expect([400, 403, 404, 405], p).toContain(r.status);
      expect(r.body.toString()).not.toMatch(/root:|"name": "batch-explain"/);
    }
  });

  it('answers only requests for 127.0.0.1 or localhost (DNS rebinding)', async () => {
    expect((await raw(viewer.url, '/api/summary', 'evil.example')).status).toBe(403);
    expect((await raw(viewer.url, '/api/summary', `localhost:${new URL(viewer.url).port}`)).status).toBe(200);
  });

  it('exports marked rows as an ids file for resubmit --ids', async () => {
    const post = (body: string) => fetch(`${viewer.url}/api/export`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const res = await post(JSON.stringify({ rows: [4, 0, 14, 4] }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="marked-ids.jsonl"');
    expect(res.headers.get('x-rows-without-id')).toBe('1');
    expect(await res.text()).toBe('{"id":"armeme-0001","flags":[]}\n{"id":"hm-42953","flags":["wrong_language"]}\n');
    for (const body of ['{"rows": [16]}', '{"rows": "1"}', 'not json', '{"rows": [-1]}']) {
      expect((await post(body)).status, body).toBe(400);
    }
  });

  it('the summary, the page and its assets: nothing from elsewhere', async () => {
    const summary = await json('/api/summary');
    expect(summary).toMatchObject({ rows: 16, explained: 12, flaggedRows: 12, labels: expect.arrayContaining(['propaganda', 'hateful']), reasons: ['api_error', 'truncated', 'not_sent'] });
    const page = await get('/');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    expect((await get('/assets/viewer.mjs')).headers.get('content-type')).toMatch(/^text\/javascript/);
    const assets = path.join(fixtures, '../src/viewer/assets');
    for (const file of await readdir(assets)) {
      const text = await readFile(path.join(assets, file), 'utf8');
      // The SVG namespace is a name, not a request.
      expect(text.replaceAll('http://www.w3.org/2000/svg', ''), file).not.toMatch(/https?:\/\/|\/\/[a-z0-9.-]+\.[a-z]{2,}\//i);
    }
    expect((await get('/nothing')).status).toBe(404);
  });
});

describe('the viewer on other data', () => {
  it('images outside the image root: shown if they are images, refused with --confine, never a non-image', async () => {
    const dir = await tempDir('be-view-');
    await mkdir(path.join(dir, 'root'));
    await copyFile(path.join(fixtures, 'images/face.png'), path.join(dir, 'outside.png'));
    await symlink(path.join(dir, 'outside.png'), path.join(dir, 'root', 'link.png'));
    await copyFile(path.join(fixtures, 'images/face.png'), path.join(dir, 'root', 'inside.png'));
    const input = path.join(dir, 'root', 'm.jsonl');
    const row = (id: string, img: string) => JSON.stringify({ id, img_path: img, class_label: 'x', generated_explanation: null });
    await writeFile(input, [row('in', 'inside.png'), row('up', '../outside.png'), row('abs', path.join(dir, 'outside.png')), row('link', 'link.png'), row('pkg', '../../../../../../../../etc/passwd'), row('url', 'https://example.com/a.png')].join('\n') + '\n');
    const open = await startViewer({ input, port: 0, sharp: null });
    const confined = await startViewer({ input, port: 0, confine: true });
    try {
      const status = async (v: Viewer) => Promise.all([0, 1, 2, 3, 4, 5].map(async (n) => (await fetch(`${v.url}/api/rows/${n}/image`)).status));
      expect(await status(open)).toEqual([200, 200, 200, 200, 415, 404]);
      expect(await status(confined)).toEqual([200, 403, 403, 403, 403, 404]);
      // Without sharp, the thumbnail is the original image.
      const thumb = await fetch(`${open.url}/api/rows/0/thumb`);
      expect(thumb.headers.get('content-type')).toBe('image/png');
    } finally {
      await open.close();
      await confined.close();
    }
  });

  it("ids by the dataset's rule: an empty string or a number that is not a safe integer is no id (shown as none, not exported)", async () => {
    const dir = await tempDir('be-view-');
    const input = path.join(dir, 'm.jsonl');
    await writeFile(input, ['""', '1.5', '9007199254740993', '12', '"a"'].map((id) => `{"id": ${id}, "class_label": "x", "generated_explanation": null}\n`).join(''));
    const v = await startViewer({ input, port: 0, sharp: null });
    try {
      const page = (await (await fetch(`${v.url}/api/rows`)).json()) as { rows: Array<{ id: string | null }> };
      expect(ids(page.rows)).toEqual([null, null, null, '12', 'a']);
      const res = await fetch(`${v.url}/api/export`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows: [0, 1, 2, 3, 4] }) });
      expect(res.headers.get('x-rows-without-id')).toBe('3');
      expect(await res.text()).toBe('{"id":"12","flags":["missing"]}\n{"id":"a","flags":["missing"]}\n');
    } finally {
      await v.close();
    }
  });

  it('search: a slash in the query matches a slash, written / or escaped \\/ in the line', async () => {
    const dir = await tempDir('be-view-');
    const input = path.join(dir, 'm.jsonl');
    await writeFile(
      input,
      [
        '{"id": "plain", "class_label": "x", "text": "yes and/or no", "generated_explanation": null}',
        '{"id": "escaped", "class_label": "x", "text": "see http:\\/\\/example.com\\/a and\\/or", "generated_explanation": null}',
        '{"id": "spaced", "class_label": "x", "text": "and or", "generated_explanation": null}',
        '{"id": "a/b-7", "class_label": "x", "text": "", "generated_explanation": null}',
      ].join('\n') + '\n',
    );
    const v = await startViewer({ input, port: 0, sharp: null });
    try {
      const search = async (q: string) => ids(((await (await fetch(`${v.url}/api/rows?q=${encodeURIComponent(q)}`)).json()) as { rows: Array<{ id: string | null }> }).rows);
      expect(await search('and/or')).toEqual(['plain', 'escaped']);
      expect(await search('http://example.com/a')).toEqual(['escaped']);
      expect(await search('a/b')).toEqual(['a/b-7']);
      expect(await search('and or')).toEqual(['spaced']);
    } finally {
      await v.close();
    }
  });

  it('thumbnails: no image over the pixel limit is decoded (a PNG whose header claims 12000×10000), a data: URI is a URL', async () => {
    const dir = await tempDir('be-view-');
    // A 1×1 PNG with its header made to say 12000×10000 (120 million pixels): sharp's own default limit lets it through.
    const bomb = Buffer.from(await sharp({ create: { width: 1, height: 1, channels: 3, background: '#888' } }).png().toBuffer());
    bomb.writeUInt32BE(12_000, 16);
    bomb.writeUInt32BE(10_000, 20);
    bomb.writeUInt32BE(crc32(bomb.subarray(12, 29)), 29);
    await writeFile(path.join(dir, 'bomb.png'), bomb);
    const input = path.join(dir, 'm.jsonl');
    const row = (id: string, img: string) => JSON.stringify({ id, img_path: img, class_label: 'x', generated_explanation: null });
    await writeFile(input, [row('bomb', 'bomb.png'), row('data', 'data:image/png;base64,iVBORw0KGgo='), row('ok', path.join(fixtures, 'images/face.png'))].join('\n') + '\n');
    const v = await startViewer({ input, port: 0 });
    try {
      const thumb = await fetch(`${v.url}/api/rows/0/thumb`);
      expect(thumb.status).toBe(413);
      expect(((await thumb.json()) as { error: string }).error).toMatch(/12000×10000 pixels, over the limit of 100000000: no thumbnail/);
      // The original is sent as it is (nothing decoded here).
      expect(Buffer.from(await (await fetch(`${v.url}/api/rows/0/image`)).arrayBuffer()).equals(bomb)).toBe(true);
      const data = await fetch(`${v.url}/api/rows/1/thumb`);
      expect(data.status).toBe(404);
      expect(((await data.json()) as { error: string }).error).toMatch(/img_path is a URL/);
      expect((await fetch(`${v.url}/api/rows/2/thumb`)).headers.get('content-type')).toBe('image/webp');
      // sharp is loaded as --resize loads it: its operation cache off.
      expect(sharp.cache()).toMatchObject({ memory: { max: 0 }, items: { max: 0 } });
    } finally {
      await v.close();
    }
  });

  it('thumbnails are made two at a time, with the pixel limit passed to sharp; image files read at once are bounded', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: unknown[] = [];
    const fakeSharp = (_input: Buffer, options: unknown) => {
      seen.push(options);
      const chain = {
        rotate: () => chain,
        resize: () => chain,
        webp: () => chain,
        toBuffer: async () => {
          most = Math.max(most, ++inFlight);
          await new Promise((resolve) => setTimeout(resolve, 150));
          inFlight--;
          return Buffer.from('a thumbnail');
        },
      };
      return chain;
    };
    const v = await startViewer({ input: merged, port: 0, sharp: fakeSharp as never });
    try {
      const answers = await Promise.all([0, 1, 2, 3, 4, 5].map((n) => fetch(`${v.url}/api/rows/${n}/thumb`)));
      expect(answers.map((a) => [a.status, a.headers.get('content-type')])).toEqual(Array.from({ length: 6 }, () => [200, 'image/webp']));
      expect(seen).toHaveLength(6);
      expect(most).toBeLessThanOrEqual(RESIZE_DEFAULTS.concurrency);
      expect(most).toBeGreaterThan(0);
      expect(seen[0]).toMatchObject({ limitInputPixels: RESIZE_DEFAULTS.maxPixels });
    } finally {
      await v.close();
    }
    // Files held at once are bounded too: with a budget smaller than any image, one at a time.
    most = 0;
    const images = rowImages({ imageRoot: fixtures, confine: false, sharp: fakeSharp as never, concurrency: 6, memoryBytes: 1 });
    const answers = await Promise.all(['images/banner.jpg', 'images/face.png', 'images/bubble.webp', 'images/chart.gif'].map((p) => images(p, true)));
    expect(answers.map((a) => a.ok)).toEqual([true, true, true, true]);
    expect(most).toBe(1);
    expect(() => rowImages({ imageRoot: fixtures, confine: false, sharp: null, concurrency: 0 })).toThrow(/option concurrency: expected a positive integer, got 0/);
  });

  it('a file changed after indexing is refused, not misread', async () => {
    const dir = await tempDir('be-view-');
    const input = path.join(dir, 'm.jsonl');
    await copyFile(merged, input);
    const v = await startViewer({ input, port: 0 });
    try {
      await appendFile(input, '{"id": "late"}\n');
      const res = await fetch(`${v.url}/api/rows?size=1`);
      expect(res.status).toBe(409);
      expect(((await res.json()) as { error: string }).error).toMatch(/changed since it was indexed: restart the viewer/);
    } finally {
      await v.close();
    }
  });

  it('a port in use is a clear error', async () => {
    const v = await startViewer({ input: merged, port: 0 });
    try {
      await expect(startViewer({ input: merged, port: Number(new URL(v.url).port) })).rejects.toThrow(/port \d+ on 127\.0\.0\.1 is in use: pass --port 0/);
    } finally {
      await v.close();
    }
  });
});
