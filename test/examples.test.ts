import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runShell } from './helpers/cli.js';
import { expiredLine, explained, okLine, writeLines } from './helpers/results.js';

const examples = fileURLToPath(new URL('../examples/', import.meta.url));

describe('examples (run as users run them, against the built package)', () => {
  it('build-shards.mjs writes shards of the fixtures', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'be-example-'));
    const r = await runShell(process.execPath, [path.join(examples, 'build-shards.mjs'), path.join(examples, '../fixtures/memes.jsonl'), out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/batch_00001\.jsonl: 7 requests, \d+ bytes, sha256 [0-9a-f]{64}/);
    expect(r.stdout).toMatch(/rejected: 0/);
    expect((await readdir(out)).sort()).toEqual(['batch_00001.jsonl', 'rejects.jsonl']);
  });

  it('result-report.mjs tallies result files with readResults', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'be-example-'));
    await writeLines(path.join(dir, 'batch_1.output.jsonl'), [okLine('a', explained('one')), okLine('b', '{"explanation": "cut', 'length'), expiredLine('c'), '{damaged', okLine('d', explained('two'))]);
    const r = await runShell(process.execPath, [path.join(examples, 'result-report.mjs'), dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['explained: 2', 'truncated: 1', 'batch_expired: 1', 'tokens: 45', 'not result lines: 1']);
  });
});

