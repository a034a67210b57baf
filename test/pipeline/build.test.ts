import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { build } from '../../src/pipeline/build.js';
import { schemaErrors } from '../helpers/openapi.js';
import { fromString } from '../helpers/streams.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const memes = path.join(fixtures, 'memes.jsonl');
const adversarial = path.join(fixtures, 'adversarial.jsonl');
const template = 'The human label is {}. Explain it. Answer as {"explanation": "..."}';
const tmp = () => mkdtemp(path.join(tmpdir(), 'be-build-'));

async function readLines(file: string) {
  return (await readFile(file, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

describe('build pipeline', () => {
  it('turns the fixture dataset into one shard of spec-valid request lines', async () => {
    const outDir = await tmp();
    const summary = await build({ dataset: memes, template, outDir, model: 'gpt-4o', provider: 'azure' });
    expect(summary).toMatchObject({ rows: 7, requests: 7, blankLines: 0, rejects: { total: 0 } });
    expect(summary.shards).toHaveLength(1);
    const lines = await readLines(summary.shards[0]!.path);
    expect(lines.map((l) => l.custom_id)).toEqual(['armeme-0001', 'armeme-0002', 'armeme-0003', '4', 'hm-42953', 'hm-10387', 'hm-77140']);
    for (const line of lines) {
      expect(schemaErrors('lines', 'BatchRequestInput', line)).toEqual([]);
      expect(schemaErrors('current', 'CreateChatCompletionRequest', line.body)).toEqual([]);
      expect(line.url).toBe('/chat/completions');
    }
    const mimes = lines.map((l) => /^data:([^;]+);base64,/.exec(l.body.messages[0].content[0].image_url.url)![1]);
    // screenshot.jpg holds PNG bytes: the MIME type follows the bytes, not the name.
    expect(mimes).toEqual(['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/png', 'image/jpeg', 'image/jpeg']);
    const image = lines[1].body.messages[0].content[0].image_url.url.split(',')[1];
    expect(Buffer.from(image, 'base64').equals(await readFile(path.join(fixtures, 'images/face.png')))).toBe(true);
    expect(lines[2].body.messages[0].content[1].text).toBe(
      `The human label is propaganda, loaded language. Explain it. Answer as {"explanation": "..."}\nText extracted: قالوا لنا الأسعار ستنخفض… وانخفضت رواتبنا`,
    );
    expect(await readFile(summary.rejectsPath, 'utf8')).toBe('');
  });

  it('accounts for every adversarial row: requests plus rejects equal rows, each reject with line and code', async () => {
    const outDir = await tmp();
    const summary = await build({ dataset: adversarial, template, outDir, model: 'm', maxImageBytes: 10_000 });
    expect(summary.rows).toBe(19);
    expect(summary.blankLines).toBe(2);
    expect(summary.requests + summary.rejects.total).toBe(summary.rows);
    const rejects = await readLines(path.join(outDir, 'rejects.jsonl'));
    expect(rejects.map((r) => [r.line, r.code]).sort((a, b) => a[0] - b[0])).toEqual([
      [3, 'E_BAD_JSON'],
      [4, 'E_MISSING_FIELD'],
      [5, 'E_MISSING_FIELD'],
      [6, 'E_FIELD_TYPE'],
      [7, 'E_FIELD_TYPE'],
      [8, 'E_EMPTY_FIELD'],
      [9, 'E_NOT_OBJECT'],
      [10, 'E_IMAGE_NOT_FOUND'],
      [11, 'E_IMAGE_FORMAT'],
      [12, 'E_IMAGE_FORMAT'],
      [13, 'E_IMAGE_EMPTY'],
      [14, 'E_IMAGE_TRUNCATED'],
      [15, 'E_IMAGE_TOO_LARGE'],
      [17, 'E_DUPLICATE_ID'],
      [18, 'E_IMAGE_UNREADABLE'],
      [19, 'E_REMOTE_IMAGE'],
      [20, 'E_FIELD_TYPE'],
    ]);
    for (const r of rejects) expect(r.file).toBe(adversarial);
    const lines = await readLines(summary.shards[0]!.path);
    expect(lines.map((l) => l.custom_id)).toEqual(['adv-ok-1', 'adv-ok-2']);
    expect(summary.shards[0]).toMatchObject({ first_line: 1, last_line: 21 });
  });

  it('gives byte-identical shards and the same rejects with reader threads as on the main thread', async () => {
    const runs = [];
    for (const readers of [0, 3]) {
      const outDir = await tmp();
      const summary = await build({ dataset: adversarial, template, outDir, model: 'm', maxImageBytes: 10_000, readers });
      const rejects = (await readLines(path.join(outDir, 'rejects.jsonl'))).map((r) => [r.line, r.code]).sort((a, b) => a[0] - b[0]);
      runs.push({ sha: summary.shards.map((s) => s.sha256), rejects });
    }
    expect(runs[1]).toEqual(runs[0]);
  });

  it('splits into shards by bytes and by requests', async () => {
    const byBytes = await build({ dataset: memes, template, outDir: await tmp(), model: 'm', maxBytes: 3_000 });
    expect(byBytes.shards.length).toBeGreaterThan(2);
    for (const s of byBytes.shards) expect(s.bytes).toBeLessThanOrEqual(3_000);
    // noisy-photo.jpg alone makes a line over 3,000 bytes.
    expect(byBytes.rejects.byCode).toEqual({ E_REQUEST_TOO_LARGE: 1 });
    const byCount = await build({ dataset: memes, template, outDir: await tmp(), model: 'm', maxRequests: 2 });
    expect(byCount.shards.map((s) => s.rows)).toEqual([2, 2, 2, 1]);
  });

  it('reads stdin-like streams, resolving images against the given root, and writes lines to a stream', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const dir = await tmp();
    const summary = await build({
      dataset: '-',
      datasetStream: fromString(await readFile(memes), 7),
      imageRoot: fixtures,
      template,
      output: out,
      rejectsPath: path.join(dir, 'rejects.jsonl'),
      model: 'm',
    });
    const lines = Buffer.concat(chunks).toString('utf8').trim().split('\n');
    expect(lines).toHaveLength(7);
    expect(summary.shards.map((s) => s.path)).toEqual(['-']);
  });

  it('refuses to mix with shards of an earlier build unless told to overwrite, and cleans partial files', async () => {
    const outDir = await tmp();
    await writeFile(path.join(outDir, 'batch_00009.jsonl'), 'old\n');
    await writeFile(path.join(outDir, 'batch_00001.jsonl.partial'), 'crashed\n');
    await expect(build({ dataset: memes, template, outDir, model: 'm' })).rejects.toThrow(/already holds 1 shard file\(s\) \(batch_00009\.jsonl\).*--overwrite/);
    await build({ dataset: memes, template, outDir, model: 'm', overwrite: true });
    expect((await readdir(outDir)).sort()).toEqual(['batch_00001.jsonl', 'rejects.jsonl']);
  });

  it('stops on abort, leaving no partial file behind', async () => {
    const outDir = await tmp();
    const big = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ id: `r${i}`, img_path: 'images/noisy-photo.jpg', class_label: 'x' })).join('\n');
    const dataset = path.join(outDir, 'big.jsonl');
    await writeFile(dataset, big);
    const controller = new AbortController();
    const run = build({ dataset, imageRoot: fixtures, template, outDir: path.join(outDir, 'out'), model: 'm', maxBytes: 200_000, signal: controller.signal, onShard: () => controller.abort() });
    await expect(run).rejects.toThrow(/abort/i);
    const left = await readdir(path.join(outDir, 'out'));
    expect(left.filter((n) => n.endsWith('.partial'))).toEqual([]);
    expect(left).toContain('batch_00001.jsonl');
  });

  it('creates missing output folders, also when the first row is a reject', async () => {
    const dir = await tmp();
    const dataset = path.join(dir, 'data.jsonl');
    await writeFile(dataset, `not json\n${JSON.stringify({ id: 'a', img_path: path.join(fixtures, 'images/face.png'), class_label: 'x' })}\n`);
    for (const sub of ['a/b/out', 'c/out']) {
      const outDir = path.join(dir, sub);
      const summary = await build({ dataset, template, outDir, model: 'm' });
      expect(summary).toMatchObject({ rows: 2, requests: 1, rejects: { total: 1 } });
      expect((await readdir(outDir)).sort()).toEqual(['batch_00001.jsonl', 'rejects.jsonl']);
    }
    const rejectsPath = path.join(dir, 'deep/er/rejects.jsonl');
    await build({ dataset, template, outDir: path.join(dir, 'd'), rejectsPath, model: 'm' });
    expect((await readFile(rejectsPath, 'utf8')).split('\n')[0]).toMatch(/E_BAD_JSON/);
  });

  it('fails clearly on a missing dataset', async () => {
    await expect(build({ dataset: '/nope/data.jsonl', template, outDir: await tmp(), model: 'm' })).rejects.toThrow('/nope/data.jsonl: no such file');
  });
});
