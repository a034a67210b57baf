/// <reference lib="dom" />
// End-to-end, as a user of a public dataset: `run --preset hateful-memes` on the dataset as
// published (`{id, img, label: 0/1, text}`, real images), then `view` (the CLI, which finds the
// job's layout in its manifest) in headless Chromium, and `report`: the image and the mapped
// label show, not "no image" and "(none)".
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBundledChromium } from '../helpers/chromium.js';
import { CLI, runCli } from '../helpers/cli.js';
import { hatefulMemes } from '../helpers/datasets.js';
import { tempDir } from '../helpers/server.js';

describe('a merged Hateful Memes file in the viewer and the report', { timeout: 120_000 }, () => {
  let cwd: string;
  let view: ChildProcess;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    cwd = await tempDir('be-hm-browser-');
    const dataset = await hatefulMemes(cwd);
    const run = await runCli(['run', '--preset', 'hateful-memes', '--provider', 'local', '--dataset', dataset, '--output', 'merged.jsonl'], { cwd });
    expect(run.stderr).toMatch(/merge: 2 rows = 2 explained/);
    // Rows of the dataset's own layout: `img` and a 0/1 `label`, neither field the viewer reads by default.
    const merged = (await readFile(path.join(cwd, 'merged.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(merged.map((r) => [r.img, r.label, 'img_path' in r, 'class_label' in r])).toEqual([['img/42953.png', 0, false, false], ['img/10387.png', 1, false, false]]);

    view = spawn(process.execPath, [CLI, 'view', '--input', 'merged.jsonl', '--port', '0', '--quiet'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const [chunk] = (await once(view.stdout!, 'data')) as [Buffer];
    const url = chunk.toString().trim().replace(/\/$/, '');
    context = await launchBundledChromium(path.join(cwd, 'profile'));
    page = await context.newPage();
    await page.goto(`${url}/`);
    await page.waitForSelector('body[data-ready=true]', { timeout: 60_000 });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    if (view && view.exitCode === null) {
      view.kill('SIGTERM');
      await once(view, 'close');
    }
  });

  it('shows each row with its image loaded and its label mapped (not-hateful / hateful)', async () => {
    await expect.poll(() => page.locator('.row').count()).toBe(2);
    expect(await page.locator('.row .label').allTextContents()).toEqual(['not-hateful', 'hateful']);
    expect(await page.locator('.row .id').allTextContents()).toEqual(['42953 · line 1', '10387 · line 2']);
    expect(await page.locator('.no-image').count()).toBe(0);
    expect(await page.locator('body').textContent()).not.toContain('(none)');
    // Both thumbnails load: the images the dataset's `img` field names, served by the viewer.
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('.row img.thumb')].filter((i) => i.complete && i.naturalWidth > 0).length === 2, null, { timeout: 30_000 });
    // The label filter offers the mapped labels.
    expect(await page.locator('#filter-label option').allTextContents()).toEqual(expect.arrayContaining(['hateful', 'not-hateful']));
  });

  it('opens a row at full size: the image, the label in the title, no "no image" note', async () => {
    await page.locator('.row[data-n="1"]').click();
    await page.keyboard.press('Enter');
    await page.waitForSelector('#detail:not([hidden])');
    await expect.poll(() => page.locator('#detail-title').textContent()).toMatch(/^10387 · line 2 · hateful$/);
    await page.waitForFunction(() => (document.getElementById('detail-image') as HTMLImageElement).naturalWidth > 0, null, { timeout: 30_000 });
    expect(await page.locator('#detail-image-note').textContent()).toBe('');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#detail', { state: 'hidden' });
  });

  it('report on the same file counts the rows by their mapped labels', async () => {
    const text = await runCli(['report', '--input', 'merged.jsonl'], { cwd });
    expect(text.code).toBe(0);
    expect(text.stdout + text.stderr).toMatch(/by label:[\s\S]*\n {2}hateful +1 +1 [\s\S]*\n {2}not-hateful +1 +1 /);
    expect(text.stdout + text.stderr).not.toContain('(none)');
  });
});
