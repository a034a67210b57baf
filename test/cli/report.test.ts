import { copyFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const merged = path.join(fixtures, 'merged.jsonl');

describe('batch-explain report', () => {
  it('prints the summary on stdout, finding the errors file beside the input', async () => {
    const r = await runCli(['report', '--input', merged, '--prompt', 'armeme_explanation_arabic']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('reasons from');
    expect(r.stdout).toMatch(/rows: 16 = 12 explained \+ 4 without an explanation\nwithout, by reason: not_sent 2, api_error 1, truncated 1/);
    expect(r.stdout).toMatch(/\(12 rows flagged; a row can have several\)/);
    expect(r.stdout).toMatch(/ {2}wrong_language +1 {3}not in Arabic script/);
    expect(r.stdout).toMatch(/ {2}duplicate_text +2 {3}1 text given to several rows/);
    expect(r.stdout).toMatch(/ {2}propaganda +7 +5 +\d+\n/);
    expect(r.stdout).toMatch(/most repeated explanations:\n +2× {2}"يستخدم الميم صورة زعيم.*" \(first: armeme-0008\)/);
    expect(r.stdout).toMatch(/ +170–179 █+ 1\n/);
  });

  it('--json for scripts; --flagged with --flags; snake_case flags', async () => {
    const dir = await tempDir('be-cli-report-');
    const flagged = path.join(dir, 'flagged.jsonl');
    const r = await runCli(['report', '--input', merged, '--json', '--language', 'ar', '--flagged', flagged, '--flags', 'too_short', 'wrong_language', '--min_words', '10']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({ rows: 16, explained: 12, checks: { minWords: 10, maxWords: 160, script: 'arabic' }, flagged: { path: flagged, ids: 2 } });
    expect(json.byFlag.too_short).toBe(1);
    expect(await readFile(flagged, 'utf8')).toBe('{"id":"4","flags":["too_short"]}\n{"id":"hm-42953","flags":["wrong_language"]}\n');
  });

  it('bad flags and inputs: exit 2 or 1 with one line naming the problem', async () => {
    const lang = await runCli(['report', '--input', merged, '--language', 'xx']);
    expect(lang.code).toBe(2);
    expect(lang.stderr).toMatch(/--language "xx": expected one of ar, arabic, en/);
    const flag = await runCli(['report', '--input', merged, '--flagged', 'x', '--flags', 'nope']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/Invalid values:[\s\S]*nope/);
    const missing = await runCli(['report', '--input', path.join(fixtures, 'nothing.jsonl')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^batch-explain: .*nothing\.jsonl: cannot be read as a merged file \(ENOENT\)\n$/);
  });

  it('flagged rows → resubmit --ids → retrieve → merge: exactly those rows go again', async () => {
    const cwd = await tempDir('be-cli-flagged-');
    await copyFile(path.join(fixtures, 'memes.jsonl'), path.join(cwd, 'memes.jsonl'));
    const common = ['--dataset', 'memes.jsonl', '--image-root', fixtures, '--prompt', 'armeme_explanation_english'];
    expect((await runCli(['run', ...common, '--output', 'merged.jsonl'], { cwd })).code).toBe(0);
    // The offline answers have 75 to 85 words: under --min-words 82 some are too short.
    const rep = await runCli(['report', '--input', 'merged.jsonl', '--min-words', '82', '--flagged', 'flagged.jsonl', '--json'], { cwd });
    expect(rep.code).toBe(0);
    const flaggedIds = (await readFile(path.join(cwd, 'flagged.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).id as string);
    expect(flaggedIds.length).toBe(JSON.parse(rep.stdout).byFlag.too_short);
    expect(flaggedIds.length).toBeGreaterThan(0);
    expect(flaggedIds.length).toBeLessThan(7);
    const again = await runCli(['resubmit', ...common, '--ids', 'flagged.jsonl'], { cwd });
    expect(again.stderr).toMatch(new RegExp(`resubmit: round 1: ${flaggedIds.length} rows? → 1 shard`));
    const round = (await readFile(path.join(cwd, 'batches/round-1.dataset.jsonl'), 'utf8')).trim().split('\n').map((l) => String(JSON.parse(l).id));
    expect(round).toEqual(flaggedIds);
    expect((await runCli(['retrieve', '--wait', '--poll-interval', '0.1'], { cwd })).code).toBe(0);
    const remerged = await runCli(['merge', '--dataset', 'memes.jsonl', '--manifest', 'batches/manifest.jsonl', '--output', 'merged2.jsonl'], { cwd });
    expect(remerged.stderr).toMatch(/7 rows = 7 explained/);
    expect(remerged.stderr).toMatch(new RegExp(`${flaggedIds.length} extra result lines? for ids already answered`));
  });

  it('resubmit takes exactly one of --from and --ids', async () => {
    const r = await runCli(['resubmit', '--dataset', 'x.jsonl', '--prompt', 'armeme_explanation_english', '--from', 'a', '--ids', 'b']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Give exactly one of --from and --ids/);
  });
});
