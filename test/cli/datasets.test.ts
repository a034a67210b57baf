import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';
import { hatefulMemes } from '../helpers/datasets.js';

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
