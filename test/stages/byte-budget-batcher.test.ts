import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { byteBudgetBatcher } from '../../src/stages/byte-budget-batcher.js';
import { segmentsToString } from '../../src/core/shards/line-writer.js';
import { collect, fromArray, rejectsCollector, toArray } from '../helpers/streams.js';
import type { DataUri, RequestLine } from '../../src/types.js';

const tmp = () => mkdtemp(path.join(tmpdir(), 'be-batcher-'));
const PREFIX = 'data:image/png;base64,';

/** A request line of exactly `bytes` bytes (newline included), with Arabic text or an image inside. */
function requestOf(line: number, bytes: number, id = `id-${line}`, withImage = line % 2 === 0): RequestLine {
  const head = `{"custom_id":${JSON.stringify(id)},"pad":"`;
  const tail = '"}';
  const room = bytes - Buffer.byteLength(head + tail) - 1;
  if (room < 0) throw new Error(`line of ${bytes} bytes is too small`);
  if (withImage && room >= PREFIX.length + 4) {
    const dataBytes = Math.floor((room - PREFIX.length) / 4) * 3;
    const uri: DataUri = { mime: 'image/png', data: Buffer.alloc(dataBytes, line % 251) };
    const used = PREFIX.length + (dataBytes / 3) * 4;
    return { line, customId: id, segments: [head, uri, 'x'.repeat(room - used), tail], byteLength: bytes };
  }
  return { line, customId: id, segments: [head + 'ع'.repeat(Math.floor(room / 2)) + 'x'.repeat(room % 2) + tail], byteLength: bytes };
}

const textOf = (lines: RequestLine[]) => lines.map((l) => `${segmentsToString(l.segments)}\n`).join('');

describe('byteBudgetBatcher', () => {
  it('rolls over before a shard would pass the byte budget, every byte and newline counted', async () => {
    const dir = await tmp();
    const lines = [80, 60, 60, 50, 200, 150, 50].map((b, i) => requestOf(i + 1, b));
    const { rows: shards, rejects } = await collect((onReject) => byteBudgetBatcher({ onReject, outDir: dir, maxBytes: 200 }), lines);
    expect(rejects).toEqual([]);
    expect(shards.map((s) => [s.index, s.rows, s.bytes, s.first_line, s.last_line])).toEqual([
      [1, 3, 200, 1, 3],
      [2, 1, 50, 4, 4],
      [3, 1, 200, 5, 5],
      [4, 2, 200, 6, 7],
    ]);
    expect(await readdir(dir)).toEqual(['batch_00001.jsonl', 'batch_00002.jsonl', 'batch_00003.jsonl', 'batch_00004.jsonl']);
    const groups = [lines.slice(0, 3), lines.slice(3, 4), lines.slice(4, 5), lines.slice(5)];
    for (const [i, shard] of shards.entries()) {
      const bytes = await readFile(shard.path);
      expect(bytes.toString('utf8')).toBe(textOf(groups[i]!));
      expect(bytes.length).toBe(shard.bytes);
      expect(shard.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(shard.path).toBe(path.join(dir, `batch_0000${i + 1}.jsonl`));
    }
  });

  it('sums the lines\' token estimates per shard and rolls over before maxTokens; a line alone over it is rejected', async () => {
    const dir = await tmp();
    const tokens = [400, 500, 200, 1200, 900, 100];
    const lines = tokens.map((t, i) => ({ ...requestOf(i + 1, 60), tokens: t }));
    const { rows: shards, rejects } = await collect((onReject) => byteBudgetBatcher({ onReject, outDir: dir, maxTokens: 1000 }), lines);
    // 400 + 500 fit; + 200 would be 1100: new shard; 1200 alone is over; 200 + 900 = 1100: new shard.
    expect(shards.map((s) => [s.rows, s.input_tokens, s.first_line, s.last_line])).toEqual([
      [2, 900, 1, 2],
      [1, 200, 3, 3],
      [2, 1000, 5, 6],
    ]);
    expect(rejects.map((r) => [r.line, r.code])).toEqual([[4, 'E_REQUEST_TOO_LARGE']]);
    expect(rejects[0]!.message).toMatch(/1200 input tokens, over the shard token budget of 1000/);
  });

  it('leaves input_tokens out of a shard with a line that carries no estimate', async () => {
    const dir = await tmp();
    const lines = [{ ...requestOf(1, 60), tokens: 10 }, requestOf(2, 60)];
    const { rows: shards } = await collect((onReject) => byteBudgetBatcher({ onReject, outDir: dir }), lines);
    expect(shards).toHaveLength(1);
    expect(shards[0]!.input_tokens).toBeUndefined();
    expect(() => byteBudgetBatcher({ onReject: () => {}, outDir: dir, maxTokens: 0 })).toThrow(/maxTokens/);
  });

  it('rolls over at maxRequests', async () => {
    const dir = await tmp();
    const lines = Array.from({ length: 7 }, (_, i) => requestOf(i + 1, 60));
    const { rows: shards } = await collect((onReject) => byteBudgetBatcher({ onReject, outDir: dir, maxRequests: 3, prefix: 'part_', firstIndex: 8 }), lines);
    expect(shards.map((s) => [path.basename(s.path), s.rows])).toEqual([
      ['part_00008.jsonl', 3],
      ['part_00009.jsonl', 3],
      ['part_00010.jsonl', 1],
    ]);
  });

  it('rejects a line over the budget on its own and an id repeated within a shard, and goes on', async () => {
    const dir = await tmp();
    const lines = [requestOf(1, 60, 'a'), requestOf(2, 500, 'huge'), requestOf(3, 60, 'a'), requestOf(4, 60, 'b'), requestOf(5, 60, 'c'), requestOf(6, 60, 'a')];
    const { rows: shards, rejects } = await collect((onReject) => byteBudgetBatcher({ onReject, outDir: dir, maxBytes: 180, file: 'd.jsonl' }), lines);
    expect(rejects.map((r) => [r.line, r.id, r.code])).toEqual([
      [2, 'huge', 'E_REQUEST_TOO_LARGE'],
      [3, 'a', 'E_DUPLICATE_ID'],
    ]);
    expect(rejects[0]).toMatchObject({ file: 'd.jsonl', stage: 'byteBudgetBatcher', message: expect.stringMatching(/500 bytes, over the shard budget of 180/) });
    // 'a' again in the second shard is allowed: ids must be unique within a batch file.
    expect(shards.map((s) => [s.rows, s.first_line, s.last_line])).toEqual([
      [3, 1, 5],
      [1, 6, 6],
    ]);
  });

  it('writes every line to a stream with --out -, counting logical shards', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const lines = Array.from({ length: 5 }, (_, i) => requestOf(i + 1, 1000 + i * 50_000));
    const { rows: shards } = await collect((onReject) => byteBudgetBatcher({ onReject, output: out, maxBytes: 250_000 }), lines);
    // Compared with toBe(true): a failing diff of these lines would fill the screen.
    expect(Buffer.concat(chunks).toString('utf8') === textOf(lines)).toBe(true);
    expect(shards.map((s) => [s.path, s.rows, s.bytes])).toEqual([
      ['-', 3, 153_000],
      ['-', 1, 151_000],
      ['-', 1, 201_000],
    ]);
  });

  it('leaves no partial file when stopped mid-shard, and keeps finished shards', async () => {
    const dir = await tmp();
    async function* source() {
      for (let i = 1; i <= 6; i++) yield requestOf(i, 3000);
      throw new Error('upstream failed');
    }
    const { onReject } = rejectsCollector();
    await expect(toArray(byteBudgetBatcher({ onReject, outDir: dir, maxBytes: 10_000 })(source()))).rejects.toThrow('upstream failed');
    expect(await readdir(dir)).toEqual(['batch_00001.jsonl']);

    const dir2 = await tmp();
    let emitted = 0;
    for await (const shard of byteBudgetBatcher({ onReject, outDir: dir2, maxBytes: 10_000 })(fromArray(Array.from({ length: 20 }, (_, i) => requestOf(i + 1, 3000))))) {
      emitted++;
      expect(shard.rows).toBe(3);
      break; // the consumer stops: the shard being written is discarded
    }
    expect(emitted).toBe(1);
    // Later shards may have been finished (and committed in the background) before the consumer
    // stopped: whatever is left is whole shards, never a partial file.
    const left = await readdir(dir2);
    expect(left).toContain('batch_00001.jsonl');
    for (const name of left) {
      expect(name).toMatch(/^batch_0000\d\.jsonl$/);
      expect((await readFile(path.join(dir2, name), 'utf8')).split('\n')).toHaveLength(4);
    }
  });

  it('reports a folder that cannot be created as an error', async () => {
    const { onReject } = rejectsCollector();
    await expect(toArray(byteBudgetBatcher({ onReject, outDir: '/etc/hostname/shards' })(fromArray([requestOf(1, 100)])))).rejects.toThrow(/ENOTDIR/);
  });

  it('checks its options', () => {
    expect(() => byteBudgetBatcher({ onReject: () => {} })).toThrow(/exactly one of outDir and output/);
    expect(() => byteBudgetBatcher({ onReject: () => {}, outDir: 'x', maxBytes: 0 })).toThrow(/maxBytes: expected a positive integer, got 0/);
    expect(() => byteBudgetBatcher({ onReject: () => {}, outDir: 'x', prefix: '../x' })).toThrow(/prefix/);
  });

  it('property: no shard over budget, every line exactly once, order kept', async () => {
    // Without fsync (up to 40 shards a run, 60 runs: on a busy disk, seconds of waiting); what is
    // written is the same, and the commits with fsync are checked above.
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 40, max: 400 }), { maxLength: 40 }), fc.integer({ min: 100, max: 1200 }), fc.integer({ min: 1, max: 8 }), async (sizes, maxBytes, maxRequests) => {
        const dir = await tmp();
        const lines = sizes.map((b, i) => requestOf(i + 1, b));
        const { rows: shards, rejects } = await collect((onReject) => byteBudgetBatcher({ onReject, outDir: dir, maxBytes, maxRequests, chunkBytes: 1, fsync: false }), lines);
        const tooLarge = lines.filter((l) => l.byteLength > maxBytes).map((l) => l.line);
        expect(rejects.map((r) => r.line)).toEqual(tooLarge);
        const written: string[] = [];
        for (const shard of shards) {
          expect(shard.bytes).toBeLessThanOrEqual(maxBytes);
          expect(shard.rows).toBeLessThanOrEqual(maxRequests);
          const text = await readFile(shard.path, 'utf8');
          expect(Buffer.byteLength(text)).toBe(shard.bytes);
          written.push(...text.split('\n').slice(0, -1));
        }
        const kept = lines.filter((l) => l.byteLength <= maxBytes);
        expect(written).toEqual(kept.map((l) => segmentsToString(l.segments)));
        // A shard closes only when the next line would not fit.
        for (let i = 0; i + 1 < shards.length; i++) {
          const next = kept.find((l) => l.line > shards[i]!.last_line)!;
          expect(shards[i]!.bytes + next.byteLength > maxBytes || shards[i]!.rows === maxRequests).toBe(true);
        }
      }),
      { numRuns: 60 },
    );
  });
});
