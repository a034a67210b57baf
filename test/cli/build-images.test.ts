import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { photo } from '../helpers/images.js';
import { startImageServer, type ImageServer } from '../helpers/image-server.js';

let dir: string;
let server: ImageServer;
const dataset = async (name: string, rows: Array<{ id: string; img_path: string }>) => {
  const file = path.join(dir, name);
  await writeFile(file, rows.map((r) => JSON.stringify({ ...r, class_label: 'hateful' })).join('\n') + '\n');
  return file;
};
/** The image parts of the request lines on stdout, decoded. */
async function images(stdout: string) {
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
  return Promise.all(
    lines.map(async (l) => {
      const url: string = l.body.messages[0].content[0].image_url.url;
      if (!url.startsWith('data:')) return { id: l.custom_id, url };
      const data = Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
      const meta = await sharp(data).metadata();
      return { id: l.custom_id, mime: url.slice(5, url.indexOf(';')), width: meta.width, height: meta.height };
    }),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'be-cli-img-'));
  await photo(1600, 1200).jpeg().toFile(path.join(dir, 'big.jpg'));
  await photo(300, 200).tiff().toFile(path.join(dir, 'scan.tiff'));
  server = await startImageServer();
});
afterAll(() => server.close());

describe('batch-explain build with image flags (CLI)', () => {
  it('--resize scales to the detail target and converts TIFF; without it TIFF is rejected', async () => {
    const file = await dataset('local.jsonl', [
      { id: 'a', img_path: 'big.jpg' },
      { id: 'b', img_path: 'scan.tiff' },
    ]);
    const rejects = path.join(dir, 'rejects.jsonl');
    const high = await runCli(['build', '--dataset', file, '--prompt', 'hateful_memes_explanation', '--out', '-', '--rejects', rejects, '--resize']);
    expect(high.code).toBe(0);
    expect(await images(high.stdout)).toEqual([
      { id: 'a', mime: 'image/jpeg', width: 1024, height: 768 },
      { id: 'b', mime: 'image/jpeg', width: 300, height: 200 },
    ]);
    const low = await runCli(['build', '--dataset', file, '--prompt', 'hateful_memes_explanation', '--out', '-', '--rejects', rejects, '--resize', '--detail', 'low']);
    expect((await images(low.stdout))[0]).toMatchObject({ width: 512, height: 384 });
    const given = await runCli(['build', '--dataset', file, '--prompt', 'hateful_memes_explanation', '--out', '-', '--rejects', rejects, '--resize=800x200', '--image_quality', '50']);
    expect((await images(given.stdout))[0]).toMatchObject({ width: 267, height: 200 });
    const off = await runCli(['build', '--dataset', file, '--prompt', 'hateful_memes_explanation', '--out', '-', '--rejects', rejects]);
    expect(off.stderr).toMatch(/1 request \+ 1 rejected/);
    expect(JSON.parse(await readFile(rejects, 'utf8'))).toMatchObject({ id: 'b', code: 'E_IMAGE_FORMAT', message: expect.stringMatching(/--resize converts it/) });
  });

  it('refuses a bad --resize with exit 2', async () => {
    const file = await dataset('one.jsonl', [{ id: 'a', img_path: 'big.jpg' }]);
    const r = await runCli(['build', '--dataset', file, '--prompt', 'hateful_memes_explanation', '--out', '-', '--resize', 'huge']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--resize: expected LONGxSHORT.*"huge"/);
  });

  it('--remote-images fetches (private addresses only with --remote-allow-private); --image-urls passthrough sends URLs; by default URLs are rejected', async () => {
    const file = await dataset('remote.jsonl', [
      { id: 'a', img_path: server.url('/face.png') },
      { id: 'b', img_path: server.url('/not-found.png') },
    ]);
    const rejects = path.join(dir, 'remote-rejects.jsonl');
    const base = ['build', '--dataset', file, '--prompt', 'hateful_memes_explanation', '--out', '-', '--rejects', rejects];
    const fetched = await runCli([...base, '--remote-images', '--remote-allow-private', '--remote-retries', '0']);
    expect(fetched.code).toBe(0);
    expect(await images(fetched.stdout)).toEqual([{ id: 'a', mime: 'image/png', width: 64, height: 64 }]);
    expect(JSON.parse(await readFile(rejects, 'utf8'))).toMatchObject({ id: 'b', code: 'E_REMOTE_FETCH', message: expect.stringMatching(/HTTP 404/) });
    const hits = server.hits.get('/face.png');
    // Every row refused: no request at all is a failure (exit 5), the counts in its message.
    const strict = await runCli([...base, '--remote-images']);
    expect(strict.code).toBe(5);
    expect(strict.stderr).toMatch(/2 rows, all rejected \(E_REMOTE_REFUSED 2\)/);
    const passed = await runCli([...base, '--image-urls', 'passthrough']);
    expect(await images(passed.stdout)).toEqual([
      { id: 'a', url: server.url('/face.png') },
      { id: 'b', url: server.url('/not-found.png') },
    ]);
    expect(server.hits.get('/face.png')).toBe(hits);
    const off = await runCli(base);
    expect(off.code).toBe(5);
    expect(off.stderr).toMatch(/E_REMOTE_IMAGE 2/);
  });
});
