/**
 * report and view of merged outputs in the dataset's own layout (CSV, TSV, JSON, Parquet), with
 * the job's mapping: the rows, labels, images and reasons show as they do for JSONL.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';
import { hubParquet, IMAGES, mami, memotion } from '../helpers/datasets.js';

interface RowView {
  n: number;
  id: string | null;
  label: string;
  hasImage: boolean;
  reason: string | null;
}

/** `view` (the CLI) on `input` in `cwd`, for as long as `use` runs. */
async function withView(cwd: string, input: string, use: (url: string) => Promise<void>): Promise<void> {
  const child = spawn(process.execPath, [CLI, 'view', '--input', input, '--port', '0', '--quiet'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  try {
    const [chunk] = (await Promise.race([once(child.stdout!, 'data'), once(child, 'close').then(() => [Buffer.from('')])])) as [Buffer];
    expect(chunk.toString(), stderr).toMatch(/^http/);
    await use(chunk.toString().trim().replace(/\/$/, ''));
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'close');
    }
  }
}

const rowsOf = async (url: string) => ((await (await fetch(`${url}/api/rows`)).json()) as { rows: RowView[] }).rows;

describe('report and view of a merged file in its dataset\'s layout', () => {
  it('Memotion merged as CSV: report counts labels and takes the reasons from the errors file; view shows the rows, images and reasons', async () => {
    const cwd = await tempDir('be-rv-csv-');
    const dataset = await memotion(cwd);
    await rename(path.join(cwd, 'images/image_2.jpeg'), path.join(cwd, 'later.jpeg'));
    const run = await runCli(['run', '--provider', 'local', '--preset', 'memotion', '--dataset', dataset, '--output', 'm.csv'], { cwd });
    expect(run.stderr).toMatch(/merge: 3 rows = 2 explained \+ 1 without an explanation/);

    const report = await runCli(['report', '--input', 'm.csv', '--json'], { cwd });
    expect(report.code, report.stderr).toBe(0);
    const r = JSON.parse(report.stdout) as { input: string; errors: string; rows: number; explained: number; byReason: Record<string, number>; byLabel: Record<string, { rows: number }> };
    expect([r.input, r.errors, r.rows, r.explained, r.byReason]).toEqual(['m.csv', 'm.csv.errors.jsonl', 3, 2, { not_sent: 1 }]);
    expect(JSON.stringify(r)).toContain('very offensive');
    expect(JSON.stringify(r)).not.toContain('(none)');

    await withView(cwd, 'm.csv', async (url) => {
      const rows = await rowsOf(url);
      expect(rows.map((x) => [x.id, x.label, x.hasImage, x.reason])).toEqual([
        ['image_1.jpg', 'not offensive', true, null],
        ['image_2.jpeg', 'very offensive', true, 'not_sent'],
        ['image_3.JPG', 'slightly offensive', true, null],
      ]);
      // The page names the file given, not the copy it reads.
      const summary = (await (await fetch(`${url}/api/summary`)).json()) as { input: string; errors: string };
      expect([summary.input, summary.errors]).toEqual(['m.csv', 'm.csv.errors.jsonl']);
      const failure = ((await (await fetch(`${url}/api/rows/1`)).json()) as { failure: { code: string } }).failure;
      expect(failure.code).toBe('E_IMAGE_NOT_FOUND');
      // Images resolve from the CSV's own folder (images/{image_name}), not from the copy the viewer reads.
      const image = await fetch(`${url}/api/rows/0/image`);
      expect(image.status).toBe(200);
      expect(Buffer.from(await image.arrayBuffer())).toEqual(await readFile(path.join(cwd, 'images/image_1.jpg')));
    });
  });

  it('a Parquet shard merged as Parquet and as JSONL: view serves the embedded images (bytes, or base64 in JSON)', async () => {
    const cwd = await tempDir('be-rv-parquet-');
    const dataset = await hubParquet(cwd);
    const run = await runCli(['run', '--provider', 'local', '--preset', 'armeme', '--image-field', 'image', '--dataset', dataset, '--output', 'm.parquet'], { cwd });
    expect(run.stderr).toMatch(/merge: 3 rows = 3 explained/);
    expect((await runCli(['merge', '--dataset', dataset, '--manifest', 'batches/manifest.jsonl', '--output', 'm.jsonl'], { cwd })).code).toBe(0);
    const face = await readFile(path.join(IMAGES, 'face.png'));
    for (const input of ['m.parquet', 'm.jsonl']) {
      await withView(cwd, input, async (url) => {
        const rows = await rowsOf(url);
        expect(rows.map((x) => [x.id, x.label, x.hasImage])).toEqual([
          ['armeme-0001', 'propaganda', true],
          ['armeme-0002', 'not_propaganda', true],
          ['armeme-0003', 'propaganda', true],
        ]);
        const image = await fetch(`${url}/api/rows/1/image`);
        expect(image.status).toBe(200);
        expect(image.headers.get('content-type')).toBe('image/png');
        expect(Buffer.from(await image.arrayBuffer())).toEqual(face);
      });
    }
    const report = await runCli(['report', '--input', 'm.parquet'], { cwd });
    expect(report.stdout).toMatch(/report: m\.parquet, .*\nrows: 3 = 3 explained/);
  });

  it('MAMI with run --provider local: the merged TSV, and report by its labels', async () => {
    const cwd = await tempDir('be-rv-mami-');
    const dataset = await mami(cwd);
    const run = await runCli(['run', '--provider', 'local', '--preset', 'mami', '--dataset', dataset, '--output', 'merged.tsv'], { cwd });
    expect(run.stderr).toMatch(/merge: 2 rows = 2 explained/);
    expect((await readFile(path.join(cwd, 'merged.tsv'), 'utf8')).split('\n')[0]).toMatch(/\tText Transcription\tgenerated_explanation$/);
    const report = await runCli(['report', '--input', 'merged.tsv'], { cwd });
    expect(report.stdout).toMatch(/by label:[\s\S]*\n {2}misogynous +1 +1 [\s\S]*\n {2}not misogynous +1 +1 /);
  });
});
