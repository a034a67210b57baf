import { readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { CLI, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';
import { withLocalServer } from '../helpers/direct-server.js';
import { hatefulMemes, hubParquet, IMAGES, mami, memotion, mmhs150k } from '../helpers/datasets.js';

async function jsonLines(file: string): Promise<Record<string, unknown>[]> {
  return (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
}

describe('public datasets in their own layouts, end to end with the local provider', () => {
  it('Hateful Memes with --preset hateful-memes: the labels mapped, its prompt by default', async () => {
    const cwd = await tempDir('be-ds-hm-');
    const dataset = await hatefulMemes(cwd);
    const r = await runCli(['run', '--preset', 'hateful-memes', '--dataset', dataset, '--output', 'merged.jsonl'], { cwd });
    expect(r.stderr).toMatch(/merge: 2 rows = 2 explained/);
    expect(r.code).toBe(0);
    const rows = await jsonLines(path.join(cwd, 'merged.jsonl'));
    expect(rows.map((x) => [x.id, x.label, x.img])).toEqual([[42953, 0, 'img/42953.png'], [10387, 1, 'img/10387.png']]);
    expect(rows[0]!.generated_explanation).toMatch(/human label "not-hateful"/);
    expect(rows[1]!.generated_explanation).toMatch(/human label "hateful"/);
  });

  it('resubmit and merge take the layout from the job (Hateful Memes)', async () => {
    const cwd = await tempDir('be-ds-resubmit-');
    const dataset = await hatefulMemes(cwd);
    const { startBatchServer } = await import('../../src/server/server.js');
    const server = await startBatchServer({ dataDir: path.join(cwd, 'srv'), faults: { expireAfterLines: 1 }, concurrency: 1 });
    try {
      const env = { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: `${server.url}/v1` };
      const first = await runCli(['run', '--provider', 'openai', '--preset', 'hateful-memes', '--dataset', dataset, '--output', 'm.jsonl', '--poll-interval', '0.1', '--expired-rounds', '0'], { cwd, env });
      expect(first.stderr).toMatch(/2 rows = 1 explained \+ 1 without an explanation/);
      const again = await runCli(['resubmit', '--provider', 'openai', '--prompt', 'hateful_memes_explanation', '--dataset', dataset, '--from', 'm.jsonl.errors.jsonl'], { cwd, env });
      expect(again.stderr).toMatch(/resubmit: round 1: 1 rows/);
      expect((await runCli(['retrieve', '--provider', 'openai', '--wait', '--poll-interval', '0.1'], { cwd, env })).code).toBe(0);
      const merged = await runCli(['merge', '--dataset', dataset, '--manifest', 'batches/manifest.jsonl', '--output', 'm2.jsonl'], { cwd });
      expect(merged.stderr).toMatch(/2 rows = 2 explained/);
      const rows = await jsonLines(path.join(cwd, 'm2.jsonl'));
      expect(rows.map((x) => /human label "([^"]+)"/.exec(String(x.generated_explanation))?.[1])).toEqual(['not-hateful', 'hateful']);
    } finally {
      await server.close();
    }
  });

  it('Memotion (CSV) end to end: the manifest records the layout; the merged CSV has one more column; merge again needs no flags', async () => {
    const cwd = await tempDir('be-ds-memotion-run-');
    const dataset = await memotion(cwd);
    const r = await runCli(['run', '--preset', 'memotion', '--dataset', dataset, '--output', 'merged.csv'], { cwd });
    expect(r.stderr).toMatch(/merge: 3 rows = 3 explained/);
    expect(r.code).toBe(0);
    const { parse } = await import('csv-parse/sync');
    const rows = parse(await readFile(path.join(cwd, 'merged.csv')), { columns: true, bom: true }) as Record<string, string>[];
    expect(rows.map((x) => [x.image_name, x.offensive])).toEqual([['image_1.jpg', 'not_offensive'], ['image_2.jpeg', 'very_offensive'], ['image_3.JPG', 'slight']]);
    expect(rows[1]!.text_ocr).toContain('YearChallenge!\nCompleted');
    expect(rows[1]!.generated_explanation).toMatch(/human label "very offensive"/);
    const run = (await jsonLines(path.join(cwd, 'batches/manifest.jsonl'))).find((e) => e.type === 'run')!;
    expect(run.mapping).toMatchObject({ format: 'csv', idField: 'image_name', labelField: 'offensive', imagePattern: 'images/{image_name}' });
    const again = await runCli(['merge', '--dataset', dataset, '--manifest', 'batches/manifest.jsonl'], { cwd });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(await readFile(path.join(cwd, 'merged.csv'), 'utf8'));
  });

  it('MAMI (TSV) in direct mode: the merged TSV has one more column; a second run sends nothing (answered ids through the mapping)', async () => {
    const cwd = await tempDir('be-ds-mami-direct-');
    const dataset = await mami(cwd);
    await withLocalServer({}, async (baseUrl) => {
      const args = ['run', '--provider', 'direct', '--base-url', baseUrl, '--preset', 'mami', '--dataset', dataset, '--output', 'merged.tsv'];
      const first = await runCli(args, { cwd });
      expect(first.stderr).toMatch(/direct: 2 rows = 2 answered/);
      expect(first.stderr).toMatch(/merge: 2 rows = 2 explained/);
      const again = await runCli(args, { cwd });
      expect(again.stderr).toMatch(/\+ 2 skipped/);
    });
    const lines = (await readFile(path.join(cwd, 'merged.tsv'), 'utf8')).trim().split('\n');
    expect(lines[0]).toBe('file_name\tmisogynous\tshaming\tstereotype\tobjectification\tviolence\tText Transcription\tgenerated_explanation');
    expect(lines.slice(1).map((l) => l.split('\t').slice(0, 2))).toEqual([['1.jpg', '0'], ['10.jpg', '1']]);
  });

  it('MMHS150K (JSON keyed by id) end to end: JSONL by default, the same JSON document with --output x.json', async () => {
    const cwd = await tempDir('be-ds-mmhs-run-');
    const dataset = await mmhs150k(cwd);
    const r = await runCli(['run', '--preset', 'mmhs150k', '--dataset', dataset, '--output', 'merged.jsonl'], { cwd });
    expect(r.stderr).toMatch(/merge: 2 rows = 2 explained/);
    const rows = await jsonLines(path.join(cwd, 'merged.jsonl'));
    expect(rows.map((x) => [x.labels, typeof x.generated_explanation])).toEqual([[[4, 1, 3], 'string'], [[0, 0, 2], 'string']]);
    expect(rows[1]!.generated_explanation).toMatch(/human label "not hateful"/);
    const json = await runCli(['merge', '--dataset', dataset, '--manifest', 'batches/manifest.jsonl', '--output', 'merged.json'], { cwd });
    expect(json.code).toBe(0);
    const doc = JSON.parse(await readFile(path.join(cwd, 'merged.json'), 'utf8'));
    expect(Object.keys(doc)).toEqual(['1114679353714016256', '1063020048816660480']);
    expect(doc['1114679353714016256'].generated_explanation).toMatch(/human label "religious hate"/);
  });

  it('a Hugging Face Parquet shard end to end: the merged JSONL keeps its columns, the image bytes as base64', async () => {
    const cwd = await tempDir('be-ds-pq-run-');
    const dataset = await hubParquet(cwd);
    const r = await runCli(['run', '--preset', 'armeme', '--image-field', 'image', '--dataset', dataset, '--output', 'merged.jsonl'], { cwd });
    expect(r.stderr).toMatch(/merge: 3 rows = 3 explained/);
    const rows = await jsonLines(path.join(cwd, 'merged.jsonl'));
    expect(rows.map((x) => x.id)).toEqual(['armeme-0001', 'armeme-0002', 'armeme-0003']);
    const image = rows[1]!.image as { bytes: string; path: string };
    expect(typeof image.bytes).toBe('string');
    expect(Buffer.from(image.bytes, 'base64')).toEqual(await readFile(path.join(IMAGES, 'face.png')));
  });

  it('--output x.parquet: a Parquet shard merged into the same columns and one more, images whole; a JSON dataset too (read back with hyparquet)', async () => {
    const { parquetReadObjects } = await import('hyparquet');
    const readBack = async (file: string) => {
      const buf = await readFile(file);
      return parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer, utf8: false });
    };
    const cwd = await tempDir('be-ds-pq-out-');
    const dataset = await hubParquet(cwd);
    const r = await runCli(['run', '--preset', 'armeme', '--image-field', 'image', '--dataset', dataset, '--output', 'merged.parquet'], { cwd });
    expect(r.stderr).toMatch(/merge: 3 rows = 3 explained/);
    expect(r.code).toBe(0);
    const input = await readBack(dataset);
    const merged = await readBack(path.join(cwd, 'merged.parquet'));
    expect(merged.map(({ generated_explanation: _e, ...rest }) => rest)).toEqual(input);
    expect(merged.map((x) => /human label "([^"]+)"/.exec(String(x.generated_explanation))?.[1])).toEqual(['propaganda', 'not_propaganda', 'propaganda']);
    expect(Buffer.compare(Buffer.from((merged[1]!.image as { bytes: Uint8Array }).bytes), await readFile(path.join(IMAGES, 'face.png')))).toBe(0);
    // The merged file is a dataset too: merge it again (by the job's manifest), the explanation column replaced, not doubled.
    const again = await runCli(['merge', '--dataset', 'merged.parquet', '--manifest', 'batches/manifest.jsonl', '--output', 'again.parquet'], { cwd });
    expect(again.code).toBe(0);
    expect(await readBack(path.join(cwd, 'again.parquet'))).toEqual(merged);

    const jsonDir = await tempDir('be-ds-json-pq-');
    const json = await mmhs150k(jsonDir);
    expect((await runCli(['run', '--preset', 'mmhs150k', '--dataset', json, '--output', 'merged.parquet'], { cwd: jsonDir })).code).toBe(0);
    const rows = await readBack(path.join(jsonDir, 'merged.parquet'));
    expect(rows.map((x) => [x.id, x.labels, x.tweet_text, /human label "([^"]+)"/.exec(String(x.generated_explanation))?.[1]])).toEqual([
      ['1114679353714016256', [4, 1, 3], '@user look who is back https://t.co/cAsaLWEpue', 'religious hate'],
      ['1063020048816660480', [0, 0, 2], 'my bestie is the worst lol https://t.co/r0v3fWf6nA', 'not hateful'],
    ]);

    // JSONL keyed by id (Hateful Memes) too: its integers stay integers.
    const jsonlDir = await tempDir('be-ds-jsonl-pq-');
    const jsonl = await hatefulMemes(jsonlDir);
    expect((await runCli(['run', '--preset', 'hateful-memes', '--dataset', jsonl, '--output', 'merged.parquet'], { cwd: jsonlDir })).code).toBe(0);
    const memes = await readBack(path.join(jsonlDir, 'merged.parquet'));
    expect(memes.map((x) => [x.id, x.img, x.label, /human label "([^"]+)"/.exec(String(x.generated_explanation))?.[1]])).toEqual([
      [42953, 'img/42953.png', 0, 'not-hateful'],
      [10387, 'img/10387.png', 1, 'hateful'],
    ]);
  });

  it.each([
    ['mmhs150k', mmhs150k, [['1114679353714016256', 'religious hate'], ['1063020048816660480', 'not hateful']]],
    ['memotion', memotion, [['image_1.jpg', 'not offensive'], ['image_2.jpeg', 'very offensive'], ['image_3.JPG', 'slightly offensive']]],
    ['mami', mami, [['1.jpg', 'not misogynous'], ['10.jpg', 'misogynous']]],
  ] as const)('--preset %s: read in its own format, every row a request with its label mapped', async (preset, make, expected) => {
    const cwd = await tempDir(`be-ds-${preset}-`);
    const dataset = await make(cwd);
    const r = await runCli(['build', '--preset', preset, '--dataset', dataset, '--out', '-'], { cwd });
    expect(r.stderr).toMatch(new RegExp(`${expected.length} rows read = ${expected.length} requests \\+ 0 rejected`));
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.custom_id, /as: (.*)\n/.exec(l.body.messages[0].content[1].text)?.[1]])).toEqual(expected.map(([id, label]) => [id, label]));
    for (const l of lines) expect(l.body.messages[0].content[1].text).toMatch(/Text extracted: \S/);
  });

  it('a Hugging Face Parquet shard with images embedded as {bytes, path}: no file read, the MIME type from the bytes', async () => {
    const cwd = await tempDir('be-ds-parquet-');
    const dataset = await hubParquet(cwd);
    const r = await runCli(['build', '--preset', 'armeme', '--image-field', 'image', '--dataset', dataset, '--out', '-'], { cwd });
    expect(r.stderr).toMatch(/3 rows read = 3 requests \+ 0 rejected/);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.custom_id, l.body.messages[0].content[0].image_url.url.slice(0, 22)])).toEqual([
      ['armeme-0001', 'data:image/jpeg;base64'],
      ['armeme-0002', 'data:image/png;base64,'],
      ['armeme-0003', 'data:image/webp;base64'],
    ]);
  });

  it('CSV and JSON come from stdin too, with --format (or the preset\'s)', async () => {
    const cwd = await tempDir('be-ds-stdin-');
    const csv = await readFile(await memotion(cwd));
    const r = await runCli(['build', '--preset', 'memotion', '--dataset', '-', '--out', '-'], { cwd, input: csv });
    expect(r.stderr).toMatch(/3 rows read = 3 requests \+ 0 rejected/);
    const json = await readFile(await mmhs150k(cwd));
    const j = await runCli(['build', '--preset', 'mmhs150k', '--dataset', '-', '--format', 'json', '--out', '-'], { cwd, input: json });
    expect(j.stderr).toMatch(/2 rows read = 2 requests \+ 0 rejected/);
  });

  it('bad input in each format is rejected with its position, never a crash; the counts add up', async () => {
    const cwd = await tempDir('be-ds-bad-');
    const prompt = ['--prompt', 'hateful_memes_explanation', '--out', '-', '--label-field', 'label', '--label-map', '0=not-hateful,1=hateful', '--image-field', 'img'];
    await writeFile(path.join(cwd, 'face.png'), await readFile(path.join(IMAGES, 'face.png')));
    await writeFile(path.join(cwd, 'cut.json'), '[{"id": 1, "img": "face.png", "label": 0},\n {"id": 2, "img": "face.png", "label": 1},\n {"id": 3, "img": "fa');
    const cut = await runCli(['build', '--dataset', 'cut.json', ...prompt], { cwd });
    expect(cut.code).toBe(0);
    expect(cut.stderr).toMatch(/3 rows read = 2 requests \+ 1 rejected/);
    expect(cut.stderr).toMatch(/cut\.json:3: E_BAD_JSON the JSON document is cut off or malformed at element 3 of the array/);
    await writeFile(path.join(cwd, 'keyed.json'), '{"1": {"img": "face.png", "label": 0}, "2": "face.png"}');
    const keyed = await runCli(['build', '--dataset', 'keyed.json', ...prompt], { cwd });
    expect(keyed.stderr).toMatch(/2 rows read = 1 request \+ 1 rejected/);
    expect(keyed.stderr).toMatch(/keyed\.json:2: E_NOT_OBJECT expected a JSON object, got the string "face.png"/);
    await writeFile(path.join(cwd, 'ragged.csv'), 'id,img,label\n1,face.png,0\n2,face.png\n3,face.png,1\n');
    const ragged = await runCli(['build', '--dataset', 'ragged.csv', ...prompt], { cwd });
    expect(ragged.stderr).toMatch(/3 rows read = 2 requests \+ 1 rejected/);
    expect(ragged.stderr).toMatch(/ragged\.csv:3: E_BAD_CSV line 3: 2 fields where the header has 3/);
    const parquet = await hubParquet(cwd, [
      { id: 'a', image: 'face.png', label: 'hateful', text: 't' },
      { id: 'b', image: Buffer.from('<html>not an image</html>'), label: 'hateful', text: 't' },
    ]);
    const notImage = await runCli(['build', '--dataset', parquet, '--prompt', 'hateful_memes_explanation', '--out', '-', '--image-field', 'image'], { cwd });
    expect(notImage.stderr).toMatch(/2 rows read = 1 request \+ 1 rejected/);
    expect(notImage.stderr).toMatch(/:2: E_IMAGE_FORMAT image embedded in row 2 \("b\.bin"\): /);
    await truncate(parquet, 200);
    const truncated = await runCli(['build', '--dataset', parquet, '--prompt', 'hateful_memes_explanation', '--out', '-', '--image-field', 'image'], { cwd });
    expect(truncated.code).toBe(1);
    expect(truncated.stderr).toMatch(/not a readable Parquet file \(cut short, or another format\?\)/);
    expect(truncated.stderr).not.toMatch(/\n\s+at /);
  });

  it('view and report of a merged Hateful Memes file read the layout from the job: the image and the label show', async () => {
    const cwd = await tempDir('be-ds-view-');
    const dataset = await hatefulMemes(cwd);
    expect((await runCli(['run', '--preset', 'hateful-memes', '--dataset', dataset, '--output', 'merged.jsonl'], { cwd })).code).toBe(0);
    const report = await runCli(['report', '--input', 'merged.jsonl', '--json'], { cwd });
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(/"not-hateful"/);
    expect(report.stdout).not.toMatch(/"\(none\)"/);
    const child = spawn(process.execPath, [CLI, 'view', '--input', 'merged.jsonl', '--port', '0', '--quiet'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
      const url = chunk.toString().trim().replace(/\/$/, '');
      const rows = (await (await fetch(`${url}/api/rows`)).json()) as { rows: Array<{ id: string; label: string; hasImage: boolean; text: string }> };
      expect(rows.rows.map((r) => [r.id, r.label, r.hasImage])).toEqual([['42953', 'not-hateful', true], ['10387', 'hateful', true]]);
      const found = (await (await fetch(`${url}/api/rows?q=${encodeURIComponent('not-hateful')}`)).json()) as { rows: Array<{ id: string }> };
      expect(found.rows.map((r) => r.id)).toEqual(['42953']);
      const byText = (await (await fetch(`${url}/api/rows?q=color`)).json()) as { rows: Array<{ id: string }> };
      expect(byText.rows.map((r) => r.id)).toEqual(['42953']);
      const image = await fetch(`${url}/api/rows/0/image`);
      expect(image.status).toBe(200);
      expect(Buffer.from(await image.arrayBuffer())).toEqual(await readFile(path.join(cwd, 'img/42953.png')));
    } finally {
      child.kill('SIGTERM');
      await once(child, 'close');
    }
  });

  it("docs/datasets.md's recipe for any other layout: a pretty-printed array, nested fields, a boolean label map", async () => {
    const cwd = await tempDir('be-ds-other-');
    await writeFile(path.join(cwd, 'face.png'), await readFile(path.join(IMAGES, 'face.png')));
    const rows = [{ meme_id: 'm1', image: { file: 'face.png' }, hateful: true, text: 'x' }, { meme_id: 'm2', image: { file: 'face.png' }, hateful: false, text: 'y' }];
    await writeFile(path.join(cwd, 'memes.json'), JSON.stringify(rows, null, 2));
    const r = await runCli(['run', '--dataset', 'memes.json', '--id-field', 'meme_id', '--image-field', 'image.file', '--label-field', 'hateful', '--label-map', 'true=hateful,false=not-hateful', '--prompt', 'hateful_memes_explanation', '--output', 'memes_explained.json'], { cwd });
    expect(r.stderr).toMatch(/merge: 2 rows = 2 explained/);
    const doc = JSON.parse(await readFile(path.join(cwd, 'memes_explained.json'), 'utf8')) as Array<Record<string, unknown>>;
    expect(doc.map((x) => [x.meme_id, /human label "([^"]+)"/.exec(String(x.generated_explanation))?.[1]])).toEqual([['m1', 'hateful'], ['m2', 'not-hateful']]);
  });

  it('the same rows without a preset are rejected with the fields seen and the preset that fits', async () => {
    const cwd = await tempDir('be-ds-hint-');
    const dataset = await hatefulMemes(cwd);
    const r = await runCli(['build', '--prompt', 'hateful_memes_explanation', '--dataset', dataset, '--out', '-'], { cwd });
    expect(r.stderr).toContain('rows have id, img, label, text: try --preset hateful-memes or --image-field img --label-field label');
    const fields = await runCli(['build', '--prompt', 'hateful_memes_explanation', '--dataset', dataset, '--out', '-', '--image-field', 'img', '--label-field', 'label', '--label-map', '0=benign,1=hateful'], { cwd });
    expect(fields.stderr).toMatch(/2 rows read = 2 requests \+ 0 rejected/);
    expect(fields.stdout).toContain('labelled this meme as: benign');
  });

  it('refuses a --label-map it cannot read and a run with neither --prompt nor --preset', async () => {
    const cwd = await tempDir('be-ds-flags-');
    const dataset = await hatefulMemes(cwd);
    const map = await runCli(['build', '--prompt', 'hateful_memes_explanation', '--dataset', dataset, '--out', '-', '--label-map', 'nope.json'], { cwd });
    expect(map.code).toBe(2);
    expect(map.stderr).toMatch(/--label-map: "nope.json" is neither raw=label pairs nor a readable JSON file \(ENOENT\)/);
    const none = await runCli(['build', '--dataset', dataset, '--out', '-'], { cwd });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/give --prompt .* or a --preset/);
  });
});
