import { execFileSync } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';
import { needsRoot } from '../helpers/root.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const memes = path.join(fixtures, 'memes.jsonl');

/**
 * Real file systems, not mocks: a tiny tmpfs for a full disk and a read-only bind mount for a
 * read-only folder (both need root, which the test machines and CI run as; elsewhere those tests
 * are skipped, saying so).
 */
const mounts: string[] = [];
function mount(args: string[], dir: string): void {
  execFileSync('mount', [...args, dir]);
  mounts.push(dir);
}
afterAll(() => {
  for (const dir of mounts.reverse()) execFileSync('umount', ['-l', dir]);
});

/** A 64 KiB tmpfs with `free` bytes left: the rest is taken by a filler file. */
async function fullDisk(free: number): Promise<{ dir: string; filler: string }> {
  const dir = await tempDir('be-full-');
  mount(['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs'], dir);
  const filler = path.join(dir, 'filler');
  // tmpfs counts whole 4 KiB pages: fill all but `free` of them.
  await writeFile(filler, Buffer.alloc(64 * 1024 - Math.ceil(free / 4096) * 4096));
  return { dir, filler };
}

async function readOnlyDir(): Promise<string> {
  const dir = await tempDir('be-ro-');
  mount(['--bind', dir], dir);
  execFileSync('mount', ['-o', 'remount,bind,ro', dir]);
  return dir;
}

/** A finished job in `cwd`: submitted and retrieved with the local provider. */
async function finishedJob(): Promise<string> {
  const cwd = await tempDir('be-out-job-');
  const submitted = await runCli(['submit', '--dataset', memes, '--prompt', 'armeme_explanation_english', '--max-requests', '3', '--quiet'], { cwd });
  expect(submitted.code, submitted.stderr).toBe(0);
  const retrieved = await runCli(['retrieve', '--wait', '--poll-interval', '0.1', '--quiet'], { cwd });
  expect(retrieved.code, retrieved.stderr).toBe(0);
  return cwd;
}

/** Exit 1, one line on stderr naming the error, no stack. */
function expectOneLineError(r: CliResult, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

describe('output folder problems', () => {
  it('disk full (a 64 KiB tmpfs) under merge: ENOSPC in one line, no merged file, no temporary left; with room, the same command completes', { timeout: 120_000 }, async (ctx) => {
    needsRoot(ctx, 'mount a 64 KiB tmpfs');
    const cwd = await finishedJob();
    const { dir, filler } = await fullDisk(2048);
    const args = ['merge', '--dataset', memes, '--manifest', 'batches/manifest.jsonl', '--output', path.join(dir, 'merged.jsonl'), '--quiet'];
    const full = await runCli(args, { cwd });
    expectOneLineError(full, /^batch-explain: .*ENOSPC: no space left on device/);
    expect(await readdir(dir)).toEqual(['filler']);
    await rm(filler);
    const again = await runCli(args, { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect((await readFile(path.join(dir, 'merged.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(7);
    expect((await readdir(dir)).sort()).toEqual(['merged.jsonl', 'merged.jsonl.errors.jsonl']);
  });

  it('disk full under retrieve: ENOSPC in one line, no half download kept or recorded; with room, retrieve completes', { timeout: 120_000 }, async (ctx) => {
    needsRoot(ctx, 'mount a 64 KiB tmpfs');
    const cwd = await tempDir('be-out-retrieve-');
    const submitted = await runCli(['submit', '--dataset', memes, '--prompt', 'armeme_explanation_english', '--max-requests', '3', '--quiet'], { cwd });
    expect(submitted.code, submitted.stderr).toBe(0);
    const { dir, filler } = await fullDisk(2048);
    const results = path.join(dir, 'results');
    const args = ['retrieve', '--wait', '--poll-interval', '0.1', '--out-dir', results, '--quiet'];
    const full = await runCli(args, { cwd });
    expectOneLineError(full, /^batch-explain: .*ENOSPC: no space left on device/);
    const left = await readdir(results);
    expect(left.filter((f) => f.includes('partial'))).toEqual([]);
    // What is there is whole: a file the manifest records as downloaded has its recorded size.
    const manifest = (await readFile(path.join(cwd, 'batches/manifest.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    for (const e of manifest.filter((m) => m.type === 'downloaded')) {
      for (const f of [e.output, e.error].filter(Boolean)) expect((await readFile(f.path)).length).toBe(f.bytes);
    }
    await rm(filler);
    const again = await runCli(args, { cwd });
    expect(again.code, again.stderr).toBe(0);
    const outputs = (await readdir(results)).filter((f) => f.endsWith('.output.jsonl'));
    expect(outputs).toHaveLength(3);
    let lines = 0;
    for (const f of outputs) lines += (await readFile(path.join(results, f), 'utf8')).trim().split('\n').length;
    expect(lines).toBe(7);
  });

  it('a read-only output folder (a read-only bind mount): merge and retrieve fail in one line (EROFS) and write nothing', { timeout: 120_000 }, async (ctx) => {
    needsRoot(ctx, 'make a read-only bind mount');
    const cwd = await finishedJob();
    const ro = await readOnlyDir();
    const merged = await runCli(['merge', '--dataset', memes, '--results', path.join('batches', 'results'), '--output', path.join(ro, 'merged.jsonl'), '--quiet'], { cwd });
    expectOneLineError(merged, /^batch-explain: .*EROFS: read-only file system/);
    await rm(path.join(cwd, 'batches', 'results'), { recursive: true });
    await rm(path.join(cwd, 'batches/manifest.jsonl'));
    const resubmitted = await runCli(['submit', '--dataset', memes, '--prompt', 'armeme_explanation_english', '--max-requests', '3', '--quiet'], { cwd });
    expect(resubmitted.code, resubmitted.stderr).toBe(0);
    const retrieved = await runCli(['retrieve', '--wait', '--poll-interval', '0.1', '--out-dir', ro, '--quiet'], { cwd });
    expectOneLineError(retrieved, /^batch-explain: .*EROFS: read-only file system/);
    expect(await readdir(ro)).toEqual([]);
  });

  it('an output path through a file where a folder should be: one line (ENOTDIR or EEXIST), nothing written', { timeout: 120_000 }, async () => {
    const cwd = await finishedJob();
    await writeFile(path.join(cwd, 'not-a-folder'), 'x');
    const merged = await runCli(['merge', '--dataset', memes, '--results', path.join('batches', 'results'), '--output', 'not-a-folder/merged.jsonl', '--quiet'], { cwd });
    expectOneLineError(merged, /^batch-explain: .*(ENOTDIR|EEXIST)/);
    for (const outDir of ['not-a-folder', 'not-a-folder/results']) {
      const retrieved = await runCli(['retrieve', '--out-dir', outDir, '--quiet'], { cwd });
      expectOneLineError(retrieved, /^batch-explain: .*(ENOTDIR|EEXIST)/);
    }
    expect(await readFile(path.join(cwd, 'not-a-folder'), 'utf8')).toBe('x');
  });
});
