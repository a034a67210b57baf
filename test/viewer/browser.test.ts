/// <reference lib="dom" />
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startViewer, type Viewer } from '../../src/viewer/server.js';
import { launchBundledChromium } from '../helpers/chromium.js';
import { tempDir } from '../helpers/server.js';

// End-to-end: the viewer in headless Chromium, the one npm installs (@sparticuz/chromium, a dev
// dependency: no system browser), driven by playwright-core.
const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const screenshot = fileURLToPath(new URL('../../docs/viewer.png', import.meta.url));

describe('the viewer in a browser', { timeout: 120_000 }, () => {
  let viewer: Viewer;
  let context: BrowserContext;
  let page: Page;
  const requests: string[] = [];
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir('be-browser-');
    // Relative paths (from the package folder, where vitest runs): as a user would type them, and as the screenshot shows.
    const input = path.relative(process.cwd(), path.join(fixtures, 'merged.jsonl'));
    viewer = await startViewer({ input, errors: `${input}.errors.jsonl`, script: 'arabic', port: 0 });
    context = await launchBundledChromium(path.join(dir, 'profile'), { acceptDownloads: true });
    page = await context.newPage();
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`${viewer.url}/`);
    await page.waitForSelector('body[data-ready=true]', { timeout: 60_000 });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await viewer?.close();
  });

  const shownIds = async () => page.locator('.row .id').evaluateAll((els) => els.map((e) => e.textContent!.split(' · ')[0]));
  const waitForRows = (n: number) => page.waitForFunction((count) => document.querySelectorAll('.row').length === count && !document.getElementById('status')!.textContent, n, { timeout: 30_000 });

  it('opens on the report and the first page, Arabic right to left', async () => {
    await expect.poll(() => page.locator('#totals').textContent()).toMatch(/16 rows: 12 explained, 4 without an explanation, 12 flagged/);
    expect(await page.locator('.row').count()).toBe(16);
    expect(await page.locator('#chart-flags .bar-label').allTextContents()).toEqual(['missing', 'too_short', 'too_long', 'wrong_language', 'mentions_reclassification', 'not_plain_text', 'duplicate_text']);
    const first = page.locator('.row').first();
    expect(await first.locator('p.text').getAttribute('dir')).toBe('rtl');
    expect(await first.locator('p.text').evaluate((e) => getComputedStyle(e).direction)).toBe('rtl');
    const english = page.locator('.row[data-n="4"] p.text');
    expect(await english.evaluate((e) => getComputedStyle(e).direction)).toBe('ltr');
    // Thumbnails (loaded lazily, as rows come into view) arrive from the viewer itself.
    await page.waitForFunction(() => (document.querySelector('.row[data-n="0"] img.thumb') as HTMLImageElement).naturalWidth > 0, null, { timeout: 30_000 });
  });

  it('filters by flag (menu and chart) and by reason', async () => {
    await page.selectOption('#filter-flag', 'missing');
    await waitForRows(4);
    expect(await shownIds()).toEqual(['armeme-0010', 'armeme-0011', 'armeme-0012', '(no id)']);
    await page.selectOption('#filter-flag', '');
    await page.selectOption('#filter-reason', 'truncated');
    await waitForRows(1);
    expect(await shownIds()).toEqual(['armeme-0011']);
    await page.click('#clear-filters');
    await waitForRows(16);
    await page.click('#chart-flags .bar-label[data-key="duplicate_text"]');
    await waitForRows(2);
    expect(await shownIds()).toEqual(['armeme-0008', 'armeme-0009']);
    await page.click('#clear-filters');
    await waitForRows(16);
  });

  it('searches', async () => {
    await page.fill('#search', 'زعيم');
    await page.press('#search', 'Enter');
    await waitForRows(2);
    expect(await shownIds()).toEqual(['armeme-0008', 'armeme-0009']);
    expect(await page.locator('#page-info').textContent()).toBe('matches 1–2');
    await page.fill('#search', 'group chat');
    await page.press('#search', 'Enter');
    await waitForRows(1);
    expect(await shownIds()).toEqual(['hm-42953']);
    await page.click('#clear-filters');
    await waitForRows(16);
  });

  it('opens a row at full size with the keyboard, and closes it', async () => {
    await page.locator('body').focus();
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    expect(await page.locator('.row.selected').getAttribute('data-n')).toBe('2');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#detail:not([hidden])');
    expect(await page.locator('#detail-title').textContent()).toMatch(/^armeme-0003 · line 3 · propaganda, loaded language$/);
    await page.waitForFunction(() => (document.getElementById('detail-image') as HTMLImageElement).naturalWidth > 0, null, { timeout: 30_000 });
    expect(await page.locator('#detail-explanation').getAttribute('dir')).toBe('rtl');
    expect(await page.locator('#detail-fields').textContent()).toContain('Pinterest');
    expect(await page.locator('#detail-flags').textContent()).toBe('mentions_reclassification');
    await page.keyboard.press('j'); // next row, still open
    await expect.poll(() => page.locator('#detail-title').textContent()).toMatch(/^4 · line 4/);
    await page.keyboard.press('Escape');
    await page.waitForSelector('#detail', { state: 'hidden' });
  });

  it('marks two rows and exports their ids for resubmit', async () => {
    await page.locator('.row[data-n="0"] input[type=checkbox]').click();
    await page.locator('.row[data-n="4"]').click();
    await page.keyboard.press('x');
    expect(await page.locator('#marked-count').textContent()).toBe('2 marked');
    expect(await page.locator('.row.marked').count()).toBe(2);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    expect(download.suggestedFilename()).toBe('marked-ids.jsonl');
    const saved = path.join(dir, 'marked-ids.jsonl');
    await download.saveAs(saved);
    expect(await readFile(saved, 'utf8')).toBe('{"id":"armeme-0001","flags":[]}\n{"id":"hm-42953","flags":["wrong_language"]}\n');
    expect(await page.locator('#export-note').textContent()).toMatch(/2 ids\. Next: batch-explain resubmit .* --ids marked-ids\.jsonl/);
    // Marks survive a reload (kept in this browser for this file).
    await page.reload();
    await page.waitForSelector('body[data-ready=true]');
    expect(await page.locator('#marked-count').textContent()).toBe('2 marked');
  });

  it('takes a screenshot, and asked nothing of any other host', async () => {
    const file = path.join(dir, 'viewer.png');
    await page.setViewportSize({ width: 1400, height: 1250 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForFunction(() => (document.querySelector('.row[data-n="3"] img.thumb') as HTMLImageElement).naturalWidth > 0, null, { timeout: 30_000 });
    await page.screenshot({ path: file });
    const png = await readFile(file);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(1400);
    // `UPDATE_SCREENSHOT=1 npx vitest run test/viewer/browser.test.ts` refreshes the README's picture.
    if (process.env.UPDATE_SCREENSHOT) {
      await mkdir(path.dirname(screenshot), { recursive: true });
      // A palette PNG: a third of the size, the text as sharp.
      const { default: sharp } = await import('sharp');
      await sharp(png).png({ palette: true, quality: 90, compressionLevel: 9 }).toFile(screenshot);
    }
    const elsewhere = requests.filter((u) => !u.startsWith(`${viewer.url}/`) && !u.startsWith('blob:'));
    expect(elsewhere).toEqual([]);
  });
});
