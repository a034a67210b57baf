import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sendDataset, sendRequestLines, type DirectOptions } from '../../src/pipeline/direct.js';
import { runDirect } from '../../src/pipeline/direct-run.js';
import { build } from '../../src/pipeline/build.js';
import { merge } from '../../src/pipeline/merge.js';
import { countingResponder, startTinyServer, withLocalServer as withServer } from '../helpers/direct-server.js';
import { tempDir } from '../helpers/server.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const template = 'A human expert labelled this meme as: {}\nExplain why, as JSON {"explanation": "..."}.';

/** A dataset of `n` rows `d-0`…, each with its own text, plus the given extra lines. */
async function dataset(n: number, extra: string[] = [], dir?: string): Promise<string> {
  const file = path.join(dir ?? (await tempDir('be-direct-data-')), 'data.jsonl');
  const rows = Array.from({ length: n }, (_, i) => JSON.stringify({ id: `d-${i}`, img_path: path.join(fixtures, 'images', i % 2 ? 'face.png' : 'banner.jpg'), class_label: 'propaganda', text: `row d-${i}` }));
  await writeFile(file, [...rows, ...extra].map((l) => `${l}\n`).join(''));
  return file;
}

async function setup(data: string) {
  const dir = await tempDir('be-direct-');
  const common = (baseUrl: string): DirectOptions => ({ baseUrl, resultsDir: path.join(dir, 'results'), rejectsPath: path.join(dir, 'rejects.jsonl'), minRetryDelayMs: 10, retries: 15 });
  return { dir, common, buildOptions: { dataset: data, template, model: 'gpt-4o' } };
}

describe('direct mode against the local server', () => {
  it('answers every row through 429s (with Retry-After) and 500s, each row answered once, and merges', async () => {
    const data = await dataset(30, ['{"id": "bad", "img_path": "missing.png", "class_label": "x"}', 'not json']);
    const { dir, common, buildOptions } = await setup(data);
    const { answered, responder } = countingResponder();
    const faults = { rate429: 0.2, rate500: 0.15, retryAfterSeconds: 0.1, seed: 7 };
    const summary = await withServer({ responder, faults }, (baseUrl) =>
      runDirect({ ...common(baseUrl), build: buildOptions, concurrency: 4, output: path.join(dir, 'merged.jsonl') }),
    );
    const [send] = summary.sends;
    expect(send).toMatchObject({ read: 32, succeeded: 30, failed: 0, skipped: 0, rejects: { total: 2 } });
    expect(send!.rateLimited).toBeGreaterThan(0);
    expect(send!.retries).toBeGreaterThanOrEqual(send!.rateLimited);
    expect([...answered.values()].every((n) => n === 1)).toBe(true);
    expect(answered.size).toBe(30);
    expect(summary.merge).toMatchObject({ rows: 32, explained: 30, byReason: { not_sent: 1, not_json: 1 } });
    const merged = (await readFile(path.join(dir, 'merged.jsonl'), 'utf8')).trim().split('\n');
    // The line that is not JSON goes to the errors file only.
    expect(merged).toHaveLength(31);
    expect(JSON.parse(merged[0]!).generated_explanation).toMatch(/offline responder/);
  });

  it('fails slow answers past the timeout; the next run sends them again and merge takes its answers', async () => {
    const data = await dataset(4);
    const { dir, common, buildOptions } = await setup(data);
    const slow = await withServer({ faults: { slowMs: 1500 } }, (baseUrl) =>
      sendDataset({ ...common(baseUrl), build: buildOptions, timeoutMs: 300, retries: 1, maxConsecutiveFailures: 0 }),
    );
    expect(slow).toMatchObject({ read: 4, succeeded: 0, failed: 4, retries: 4, outputPath: null });
    const failures = (await readFile(slow.errorsPath!, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(failures.map((f) => f.error.code)).toEqual(['ETIMEDOUT', 'ETIMEDOUT', 'ETIMEDOUT', 'ETIMEDOUT']);
    const { answered, responder } = countingResponder();
    const again = await withServer({ responder }, (baseUrl) => sendDataset({ ...common(baseUrl), build: buildOptions }));
    expect(again).toMatchObject({ read: 4, succeeded: 4, failed: 0, skipped: 0 });
    expect(again.outputPath).toMatch(/direct-2\.output\.jsonl$/);
    expect(answered.size).toBe(4);
    const merged = await merge({ dataset: data, results: [path.join(dir, 'results')], output: path.join(dir, 'merged.jsonl') });
    expect(merged).toMatchObject({ rows: 4, explained: 4, extraResults: 4 });
  });

  it('writes rows the server refuses (400) as failures, tried once; a re-run tries only them again', async () => {
    const data = await dataset(10);
    const { dir, common, buildOptions } = await setup(data);
    const refused = new Set(['d-3', 'd-7']);
    const { answered, responder } = countingResponder({ fails: (row) => refused.has(row) });
    const output = path.join(dir, 'merged.jsonl');
    const first = await withServer({ responder }, (baseUrl) => runDirect({ ...common(baseUrl), build: buildOptions, output }));
    expect(first.sends[0]).toMatchObject({ succeeded: 8, failed: 2, retries: 0 });
    expect([...answered.values()].every((n) => n === 1)).toBe(true);
    expect(first.merge).toMatchObject({ rows: 10, explained: 8, byReason: { api_error: 2 } });
    const errors = (await readFile(`${output}.errors.jsonl`, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(errors.map((e) => [e.id, e.code, e.message])).toEqual([
      ['d-3', 'invalid_value', expect.stringMatching(/^row d-3 is refused \(.*direct-1\.errors\.jsonl/)],
      ['d-7', 'invalid_value', expect.stringMatching(/^row d-7 is refused \(.*direct-1\.errors\.jsonl/)],
    ]);
    // Fixed on the server side: the next run sends the two failed rows only, and each round of
    // --max-rounds would too.
    refused.clear();
    const second = await withServer({ responder }, (baseUrl) => runDirect({ ...common(baseUrl), build: buildOptions, output }));
    expect(second.sends[0]).toMatchObject({ read: 10, skipped: 8, succeeded: 2, failed: 0 });
    expect(Object.fromEntries(answered)).toMatchObject({ 'd-3': 2, 'd-7': 2, 'd-0': 1, 'd-9': 1 });
    expect(second.merge).toMatchObject({ explained: 10 });
  });

  it('passes over failed rows again in the same run with maxRounds', async () => {
    const data = await dataset(6);
    const { dir, common, buildOptions } = await setup(data);
    let refusals = 3; // the first three answers are refusals, then the server is fine
    const { answered, responder } = countingResponder({ fails: () => refusals-- > 0 });
    const summary = await withServer({ responder }, (baseUrl) =>
      runDirect({ ...common(baseUrl), build: buildOptions, output: path.join(dir, 'merged.jsonl'), maxRounds: 2, concurrency: 1 }),
    );
    expect(summary.sends.map((s) => [s.succeeded, s.failed, s.skipped])).toEqual([
      [3, 3, 0],
      [3, 0, 3],
    ]);
    expect([...answered.values()].reduce((a, b) => a + b)).toBe(9);
    expect(summary.merge.explained).toBe(6);
  });

  it('resumes: rows answered earlier are not sent again, and a partial last line left by a kill is cut', async () => {
    const dir = await tempDir('be-direct-resume-');
    const half = await dataset(10, [], await tempDir('be-direct-half-'));
    const whole = await dataset(20, [], dir);
    const { common } = await setup(whole);
    const { answered, responder } = countingResponder();
    const summary = await withServer({ responder }, async (baseUrl) => {
      const first = await sendDataset({ ...common(baseUrl), build: { dataset: half, template, model: 'gpt-4o' } });
      expect(first).toMatchObject({ succeeded: 10, doneIds: 0 });
      // A run killed in the middle of a write leaves the start of a line.
      await appendFile(first.outputPath!, '{"id":"direct_req_0","custom_id":"d-1');
      return runDirect({ ...common(baseUrl), build: { dataset: whole, template, model: 'gpt-4o' }, output: path.join(dir, 'merged.jsonl') });
    });
    expect(summary.sends[0]).toMatchObject({ read: 20, skipped: 10, succeeded: 10, partialLinesCut: 1, doneIds: 10 });
    expect(summary.sends[0]!.doneIdBytes).toBeLessThanOrEqual(32 * 1024);
    expect(answered.size).toBe(20);
    expect([...answered.values()].every((n) => n === 1)).toBe(true);
    expect(summary.merge).toMatchObject({ rows: 20, explained: 20, badResultLines: 0, extraResults: 0 });
  });

  it('refuses a results folder whose answers were made with another prompt or model', async () => {
    const data = await dataset(3);
    const { common, buildOptions } = await setup(data);
    const progress: number[] = [];
    await withServer({ faults: { slowMs: 30 } }, async (baseUrl) => {
      const first = await sendDataset({ ...common(baseUrl), build: buildOptions, concurrency: 1, progressMs: 10, onProgress: (p) => progress.push(p.sent) });
      expect(first.succeeded).toBe(3);
      for (const other of [{ template: `${template} Briefly.` }, { model: 'gpt-4o-mini' }, { maxTokens: 100 }]) {
        await expect(sendDataset({ ...common(baseUrl), build: { ...buildOptions, ...other } }), JSON.stringify(other)).rejects.toMatchObject({ code: 'E_OPTION', message: expect.stringMatching(/holds answers made with other settings/) });
      }
      // The same settings over another dataset (more rows of the same job) are fine.
      const more = await sendDataset({ ...common(baseUrl), build: { ...buildOptions, dataset: await dataset(5) } });
      expect(more).toMatchObject({ skipped: 3, succeeded: 2 });
    });
    // Progress was told while requests went out, counts only growing.
    expect(progress.length).toBeGreaterThan(0);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('sends every body byte for byte, lines of changing sizes sharing reused buffers', async () => {
    const dir = await tempDir('be-direct-bytes-');
    let seed = 3;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const bodies = Array.from({ length: 40 }, (_, i) => JSON.stringify({ model: 'm', messages: [{ role: 'user', content: `${'مصر'.repeat(Math.floor(random() * 100_000))} ${i}` }] }));
    const file = path.join(dir, 'requests.jsonl');
    await writeFile(file, bodies.map((b, i) => `{"custom_id":"r${i}","method":"POST","url":"/v1/chat/completions","body":${b}}\n`).join(''));
    const server = await startTinyServer(() => ({ delayMs: Math.floor(random() * 20) }));
    try {
      const summary = await sendRequestLines({ baseUrl: server.url, resultsDir: path.join(dir, 'results'), rejectsPath: path.join(dir, 'rejects.jsonl'), requests: [file], concurrency: 4 });
      expect(summary.succeeded).toBe(40);
      expect(server.seen.map((s) => s.text).sort()).toEqual([...bodies].sort());
    } finally {
      await server.close();
    }
  });

  it('sends the shards of a build, and lines on stdin, rejecting lines that are not request lines', async () => {
    const data = await dataset(9);
    const { dir, common } = await setup(data);
    const shards = await build({ dataset: data, template, model: 'gpt-4o', outDir: path.join(dir, 'batches'), maxRequests: 4 });
    expect(shards.shards).toHaveLength(3);
    const { answered, responder } = countingResponder();
    const fromShards = await withServer({ responder }, (baseUrl) => sendRequestLines({ ...common(baseUrl), requests: [path.join(dir, 'batches')] }));
    expect(fromShards).toMatchObject({ read: 9, succeeded: 9, rejects: { total: 0 } });
    // The same lines on stdin, among lines that are not request lines: the answered ones are skipped.
    const lines = (await readFile(shards.shards[0]!.path, 'utf8')).trim().split('\n');
    const stdin = Readable.from([`\uFEFF${lines[0]}\n`, 'oops\n\n', '{"custom_id": "new-1", "method": "POST"}\r\n', `${lines[1]!.replace('"d-1"', '"d-100"')}\n`]);
    const fromStdin = await withServer({ responder }, (baseUrl) => sendRequestLines({ ...common(baseUrl), requests: ['-'], stdin }));
    expect(fromStdin).toMatchObject({ read: 4, skipped: 1, succeeded: 1, rejects: { total: 2, byCode: { E_BAD_JSON: 1, E_MISSING_FIELD: 1 } } });
    const rejects = (await readFile(path.join(dir, 'rejects.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(rejects.map((r) => [r.file, r.line, r.id, r.code])).toEqual([
      ['-', 2, null, 'E_BAD_JSON'],
      ['-', 4, 'new-1', 'E_MISSING_FIELD'],
    ]);
    expect(answered.size).toBe(9);
    expect((await readdir(path.join(dir, 'results'))).sort()).toEqual(['direct-1.output.jsonl', 'direct-2.output.jsonl']);
  });
});
