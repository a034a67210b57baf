/**
 * resubmit for datasets that are not JSONL keyed by `id`: the rows go again in the dataset's own
 * format, read through the mapping the job recorded (no layout flag repeated), with the local
 * provider. The fault that makes rows fail first: an image not there yet at the first run.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { parquetReadObjects } from 'hyparquet';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';
import { hubParquet, IMAGES, memotion, mmhs150k } from '../helpers/datasets.js';

const local = ['--provider', 'local'];
const labelOf = (explanation: unknown) => /human label "([^"]+)"/.exec(String(explanation))?.[1];

async function parquetRows(file: string): Promise<Record<string, unknown>[]> {
  const buf = await readFile(file);
  return parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer, utf8: false });
}

/** retrieve, then merge by the job's manifest into `output`; the merge's summary line. */
async function retrieveAndMerge(cwd: string, dataset: string, output: string): Promise<string> {
  const retrieved = await runCli(['retrieve', ...local, '--wait', '--poll-interval', '0.1'], { cwd });
  expect(retrieved.code, retrieved.stderr).toBe(0);
  const merged = await runCli(['merge', '--dataset', dataset, '--manifest', 'batches/manifest.jsonl', '--output', output], { cwd });
  expect(merged.code, merged.stderr).toBe(0);
  return merged.stderr;
}

describe('resubmit in the dataset\'s own layout, through the job\'s mapping', () => {
  it('Memotion (CSV keyed by image_name): the rows of the errors file go again as a CSV of the same columns; the next merge explains every row', async () => {
    const cwd = await tempDir('be-rs-csv-');
    const dataset = await memotion(cwd);
    // The fault: one image is not there yet.
    await rename(path.join(cwd, 'images/image_2.jpeg'), path.join(cwd, 'later.jpeg'));
    const first = await runCli(['run', ...local, '--preset', 'memotion', '--dataset', dataset, '--output', 'm.csv'], { cwd });
    expect(first.stderr).toMatch(/merge: 3 rows = 2 explained \+ 1 without an explanation/);
    expect(first.stderr).toMatch(/not_sent 1/);
    await rename(path.join(cwd, 'later.jpeg'), path.join(cwd, 'images/image_2.jpeg'));

    // No --preset, no layout flag, no --prompt: the job's mapping (CSV, image_name, images/{image_name}, the label map) and its shipped prompt.
    const again = await runCli(['resubmit', ...local, '--dataset', dataset, '--from', 'm.csv.errors.jsonl', '--reasons', 'not_sent'], { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resubmit: round 1: 1 rows/);
    expect(again.stderr).toMatch(/--output dataset_with_explanations\.csv/);
    expect(again.stderr).toMatch(/resubmit: resuming the job in batches/);
    const round = parse(await readFile(path.join(cwd, 'batches/round-1.dataset.csv')), { columns: true }) as Record<string, string>[];
    expect(round.map((r) => [r[''], r.image_name, r.offensive])).toEqual([['1', 'image_2.jpeg', 'very_offensive']]);
    expect(round[0]!.text_ocr).toContain('YearChallenge!\nCompleted');

    expect(await retrieveAndMerge(cwd, dataset, 'm2.csv')).toMatch(/merge: 3 rows = 3 explained/);
    const rows = parse(await readFile(path.join(cwd, 'm2.csv')), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => [r.image_name, labelOf(r.generated_explanation)])).toEqual([
      ['image_1.jpg', 'not offensive'],
      ['image_2.jpeg', 'very offensive'],
      ['image_3.JPG', 'slightly offensive'],
    ]);
  });

  it('MMHS150K (a JSON object keyed by tweet id) from its merged output: the rows whose field is null go again, still keyed', async () => {
    const cwd = await tempDir('be-rs-json-');
    const dataset = await mmhs150k(cwd);
    await rename(path.join(cwd, 'img_resized/1063020048816660480.jpg'), path.join(cwd, 'later.jpg'));
    const first = await runCli(['run', ...local, '--preset', 'mmhs150k', '--dataset', dataset, '--output', 'm.json'], { cwd });
    expect(first.stderr).toMatch(/merge: 2 rows = 1 explained \+ 1 without an explanation/);
    await rename(path.join(cwd, 'later.jpg'), path.join(cwd, 'img_resized/1063020048816660480.jpg'));

    const again = await runCli(['resubmit', ...local, '--prompt', 'mmhs150k_explanation', '--dataset', dataset, '--from', 'm.json'], { cwd });
    expect(again.stderr).toMatch(/resubmit: round 1: 1 rows/);
    const round = JSON.parse(await readFile(path.join(cwd, 'batches/round-1.dataset.json'), 'utf8'));
    expect(Object.keys(round)).toEqual(['1063020048816660480']);
    expect(round['1063020048816660480'].labels).toEqual([0, 0, 2]);

    expect(await retrieveAndMerge(cwd, dataset, 'm2.json')).toMatch(/merge: 2 rows = 2 explained/);
    const doc = JSON.parse(await readFile(path.join(cwd, 'm2.json'), 'utf8'));
    expect(Object.entries(doc).map(([id, r]) => [id, labelOf((r as { generated_explanation: string }).generated_explanation)])).toEqual([
      ['1114679353714016256', 'religious hate'],
      ['1063020048816660480', 'not hateful'],
    ]);
  });

  it('a Parquet shard with embedded images, by an ids file: the round is a Parquet file of the same schema, the image bytes whole', async () => {
    const cwd = await tempDir('be-rs-parquet-');
    const dataset = await hubParquet(cwd);
    const first = await runCli(['run', ...local, '--preset', 'armeme', '--image-field', 'image', '--dataset', dataset, '--output', 'm.parquet'], { cwd });
    expect(first.stderr).toMatch(/merge: 3 rows = 3 explained/);
    await writeFile(path.join(cwd, 'ids.jsonl'), '{"id": "armeme-0002"}\narmeme-0003\nno-such-id\n');
    const again = await runCli(['resubmit', ...local, '--prompt', 'armeme_explanation_english', '--dataset', dataset, '--ids', 'ids.jsonl'], { cwd });
    expect(again.stderr).toMatch(/resubmit: round 1: 2 rows/);
    expect(again.stderr).toMatch(/1 ids of ids\.jsonl are on no row/);
    const round = await parquetRows(path.join(cwd, 'batches/round-1.dataset.parquet'));
    const input = await parquetRows(dataset);
    expect(round).toEqual(input.slice(1));
    expect(Buffer.compare(Buffer.from((round[0]!.image as { bytes: Uint8Array }).bytes), await readFile(path.join(IMAGES, 'face.png')))).toBe(0);

    const merged = await retrieveAndMerge(cwd, dataset, 'm2.parquet');
    expect(merged).toMatch(/merge: 3 rows = 3 explained/);
    expect(merged).toMatch(/2 extra result lines/);
    expect((await parquetRows(path.join(cwd, 'm2.parquet'))).map((r) => r.id)).toEqual(['armeme-0001', 'armeme-0002', 'armeme-0003']);
  });

  it('run resubmits by itself the rows of a CSV job whose batch expired (a server that expires batches after one line)', async () => {
    const cwd = await tempDir('be-rs-run-');
    const dataset = await memotion(cwd);
    const { startBatchServer } = await import('../../src/server/server.js');
    const server = await startBatchServer({ dataDir: path.join(cwd, 'srv'), faults: { expireAfterLines: 1 }, concurrency: 1 });
    try {
      const env = { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: `${server.url}/v1` };
      const r = await runCli(['run', '--provider', 'openai', '--preset', 'memotion', '--dataset', dataset, '--output', 'm.csv', '--poll-interval', '0.1'], { cwd, env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/run: resubmit round 1 \(2 rows whose batch expired\)/);
      expect(r.stderr).toMatch(/3 rows = 3 explained/);
      const rows = parse(await readFile(path.join(cwd, 'm.csv')), { columns: true }) as Record<string, string>[];
      expect(rows.map((x) => labelOf(x.generated_explanation))).toEqual(['not offensive', 'very offensive', 'slightly offensive']);
    } finally {
      await server.close();
    }
  });

  it('JSONL keyed by another field: the lines are copied as they are, ids read through the mapping', async () => {
    const cwd = await tempDir('be-rs-jsonl-');
    await writeFile(path.join(cwd, 'face.png'), await readFile(path.join(IMAGES, 'face.png')));
    const rows = [
      { meme_id: 'm1', image: 'face.png', hateful: 1, n: 12345678901234567890 },
      { meme_id: 'm2', image: 'face.png', hateful: 0 },
    ];
    // A number beyond 2^53 stays as written: the line is copied, not parsed and written again.
    const text = rows.map((r) => JSON.stringify(r).replace('12345678901234567000', '12345678901234567890')).join('\n') + '\n';
    await writeFile(path.join(cwd, 'memes.jsonl'), text);
    const layout = ['--id-field', 'meme_id', '--image-field', 'image', '--label-field', 'hateful', '--label-map', '0=not-hateful,1=hateful'];
    const first = await runCli(['run', ...local, '--dataset', 'memes.jsonl', ...layout, '--prompt', 'hateful_memes_explanation', '--output', 'm.jsonl'], { cwd });
    expect(first.stderr).toMatch(/merge: 2 rows = 2 explained/);
    await writeFile(path.join(cwd, 'ids.txt'), 'm1\n');
    const again = await runCli(['resubmit', ...local, '--prompt', 'hateful_memes_explanation', '--dataset', 'memes.jsonl', '--ids', 'ids.txt'], { cwd });
    expect(again.stderr).toMatch(/resubmit: round 1: 1 rows/);
    expect(await readFile(path.join(cwd, 'batches/round-1.dataset.jsonl'), 'utf8')).toBe(text.split('\n')[0] + '\n');
    expect(await retrieveAndMerge(cwd, 'memes.jsonl', 'm2.jsonl')).toMatch(/merge: 2 rows = 2 explained/);
  });

  it('from a merged JSONL output, lines merge left out (not JSON objects) are passed over: the right rows go again', async () => {
    const cwd = await tempDir('be-rs-notjson-');
    await writeFile(path.join(cwd, 'face.png'), await readFile(path.join(IMAGES, 'face.png')));
    const lines = ['{"id":"m1","img_path":"face.png","class_label":"hateful","text":"a"}', '{not json', '[1, 2]', '{"id":"m4","img_path":"later.png","class_label":"hateful","text":"b"}'];
    await writeFile(path.join(cwd, 'd.jsonl'), `${lines.join('\n')}\n`);
    const common = [...local, '--prompt', 'hateful_memes_explanation', '--dataset', 'd.jsonl'];
    const first = await runCli(['run', ...common, '--output', 'm.jsonl'], { cwd });
    expect(first.stderr).toMatch(/merge: 4 rows = 1 explained \+ 3 without an explanation/);
    expect((await readFile(path.join(cwd, 'm.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(2);
    await writeFile(path.join(cwd, 'later.png'), await readFile(path.join(IMAGES, 'face.png')));
    const again = await runCli(['resubmit', ...common, '--from', 'm.jsonl'], { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resubmit: round 1: 1 rows/);
    expect(await readFile(path.join(cwd, 'batches/round-1.dataset.jsonl'), 'utf8')).toBe(`${lines[3]}\n`);
  });
});
