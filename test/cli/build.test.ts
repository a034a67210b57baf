import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI, runCli, runShell } from '../helpers/cli.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const memes = path.join(fixtures, 'memes.jsonl');
const tmp = () => mkdtemp(path.join(tmpdir(), 'be-cli-'));

describe('batch-explain build (CLI)', () => {
  it('builds the fixtures with a shipped prompt and prints a summary whose counts add up', async () => {
    const out = await tmp();
    const r = await runCli(['build', '--dataset', memes, '--prompt', 'armeme_explanation_arabic', '--out-dir', out]);
    expect(r.stderr).toMatch(/build: 7 rows read = 7 requests \+ 0 rejected/);
    expect(r.stderr).toMatch(/1 shard, /);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect((await readdir(out)).sort()).toEqual(['batch_00001.jsonl', 'rejects.jsonl']);
    const first = JSON.parse((await readFile(path.join(out, 'batch_00001.jsonl'), 'utf8')).split('\n')[0]!);
    expect(first.body.messages[0].content[1].text).toMatch(/labelled this meme as: propaganda\n/);
  });

  it('reads stdin and writes request lines to stdout', async () => {
    const r = await runCli(['build', '--dataset', '-', '--prompt', 'hateful_memes_explanation', '--out', '-', '--rejects', path.join(await tmp(), 'rejects.jsonl')], {
      cwd: fixtures,
      input: await readFile(memes),
    });
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.custom_id)).toHaveLength(7);
    expect(r.stderr).toMatch(/7 requests \+ 0 rejected/);
  });

  it('exits 0 without a stack trace when the reader closes the pipe (| head -1)', async () => {
    const dir = await tmp();
    const rows = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ id: `r${i}`, img_path: path.join(fixtures, 'images/noisy-photo.jpg'), class_label: 'hateful' }));
    await writeFile(path.join(dir, 'big.jsonl'), `${rows.join('\n')}\n`);
    // The issue's own command line; PIPESTATUS[1] is batch-explain's exit code (cat may get SIGPIPE: it is not ours).
    const script = `cat big.jsonl | "${process.execPath}" "${CLI}" build --dataset - --prompt hateful_memes_explanation --out - | head -1 > first.jsonl; s=("\${PIPESTATUS[@]}"); echo "\${s[1]}" > code`;
    const r = await runShell('bash', ['-c', script], { cwd: dir });
    expect(r.stderr).not.toMatch(/at .*\.js:\d+|Error:/);
    expect(r.code).toBe(0);
    expect((await readFile(path.join(dir, 'code'), 'utf8')).trim()).toBe('0');
    const first = JSON.parse(await readFile(path.join(dir, 'first.jsonl'), 'utf8'));
    expect(first.custom_id).toBe('r0');
  });

  it('accepts the original scripts snake_case flags', async () => {
    const out = await tmp();
    const r = await runCli(['build', '--dataset', memes, '--prompt', path.join(fixtures, '../prompts/armeme_explanation_english.txt'), '--output_dir', out, '--batch_file_size_limit', '8kB', '--max_image_bytes=20MB']);
    expect(r.code).toBe(0);
    expect((await readdir(out)).filter((n) => n.startsWith('batch_')).length).toBeGreaterThan(1);
  });

  it('a full disk behind stdout (/dev/full) is reported as such, exit 1, for build and merge', async () => {
    const out = await tmp();
    const build = await runShell('sh', ['-c', `"${process.execPath}" "${CLI}" build --dataset "${memes}" --prompt armeme_explanation_english --out - > /dev/full`]);
    expect(build.code).toBe(1);
    expect(build.stderr).toBe('batch-explain: standard output: ENOSPC: no space left on device, write\n');
    const dataset = path.join(out, 'd.jsonl');
    await writeFile(dataset, '{"id": "a"}\n');
    const merge = await runShell('sh', ['-c', `"${process.execPath}" "${CLI}" merge --dataset "${dataset}" --results "${dataset}" --output - --errors "${path.join(out, 'e.jsonl')}" > /dev/full`]);
    expect(merge.code).toBe(1);
    expect(merge.stderr).toMatch(/^batch-explain: (standard output: )?ENOSPC: no space left on device, write\n$/);
    expect(await readdir(out)).toEqual(['d.jsonl']); // no errors file taken for a complete one
  });

  it('--confine rejects an img_path leading out of the image root, named in the rejects file', async () => {
    const out = await tmp();
    const dataset = path.join(out, 'data.jsonl');
    await writeFile(dataset, `${JSON.stringify({ id: 'in', img_path: 'images/face.png', class_label: 'x' })}\n${JSON.stringify({ id: 'out', img_path: '../README.md', class_label: 'x' })}\n`);
    const r = await runCli(['build', '--dataset', dataset, '--image-root', fixtures, '--confine', '--prompt', 'armeme_explanation_english', '--out-dir', path.join(out, 'b')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/2 rows read = 1 request \+ 1 rejected/);
    const rejects = (await readFile(path.join(out, 'b/rejects.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(rejects).toMatchObject([{ line: 2, id: 'out', code: 'E_IMAGE_OUTSIDE_ROOT' }]);
  });

  it('--strict exits 3 when a row is rejected, and lists the first rejects with file and line', async () => {
    const r = await runCli(['build', '--dataset', path.join(fixtures, 'adversarial.jsonl'), '--prompt', 'hateful_memes_explanation', '--out-dir', await tmp(), '--strict', '--max-image-bytes', '10000']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/19 rows read \(2 blank lines skipped\) = 2 requests \+ 17 rejected/);
    expect(r.stderr).toMatch(/adversarial\.jsonl:3: E_BAD_JSON/);
  });

  it('gives clear errors and exit codes for bad flags and inputs, never a stack trace', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['build', '--dataset', memes, '--prompt', 'hateful_memes_explanation', '--max-bytes', 'lots'], 2, /--max-bytes: expected a byte size/],
      [['build', '--dataset', memes, '--prompt', 'hateful_memes_explanation', '--provider', 'bedrock'], 2, /Invalid values:[\s\S]*provider/],
      [['build', '--dataset', memes], 2, /give --prompt \(a prompt file or a shipped prompt name\), or a --preset/],
      [['build', '--dataset', memes, '--prompt', 'nope.txt'], 2, /prompt nope\.txt: no such file/],
      [['build', '--dataset', '/no/such.jsonl', '--prompt', 'hateful_memes_explanation', '--out-dir', '/tmp/be-never'], 1, /\/no\/such\.jsonl: no such file/],
      [['build', '--dataset', memes, '--prompt', 'hateful_memes_explanation', '--out', 'file.jsonl'], 2, /--out only takes -/],
      [['build', '--dataset', memes, '--prompt', 'hateful_memes_explanation', '--provider', 'azure'], 2, /azure needs a deployment/],
      [['frobnicate'], 2, /Unknown argument: frobnicate/],
    ];
    for (const [args, code, message] of cases) {
      const r = await runCli(args, { env: { AZURE_ENGINE_NAME: '' } });
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.code, args.join(' ')).toBe(code);
    }
  });

  it('prints its own version, whatever package.json is in the working folder', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'be-version-'));
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'someone-elses-project', version: '9.9.9' }));
    const own = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await runCli(['--version'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(own.version);
  });

  it('prints help with examples', async () => {
    const r = await runCli(['build', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--max-bytes/);
    expect(r.stdout).toMatch(/Examples:/);
  });
});
