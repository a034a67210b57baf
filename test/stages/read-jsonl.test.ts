import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readJsonl } from '../../src/stages/read-jsonl.js';
import { fromString, rejectsCollector, toArray } from '../helpers/streams.js';

const rows = [
  { id: 'a1', text: 'مصر أولاً 🇪🇬', class_label: 'propaganda' },
  { id: 'a2', text: 'لما تصحى بدري\nيوم الجمعة 😂', class_label: 'not-propaganda' },
  { id: 3, text: 'plain ascii', nested: { k: [1, 2, { z: null }] } },
];

async function read(text: string | Buffer, chunkSize: number) {
  const { rejects, onReject } = rejectsCollector();
  const stream = readJsonl({ stream: fromString(text, chunkSize), name: 'data.jsonl', onReject });
  const records = await toArray(stream);
  return { records, rejects, stats: stream.stats };
}

describe('readJsonl', () => {
  it('reads every row with its line number across every chunk size (Arabic split mid-character)', async () => {
    const text = `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
    for (let chunkSize = 1; chunkSize <= 64; chunkSize++) {
      const { records, rejects } = await read(text, chunkSize);
      expect(rejects).toEqual([]);
      expect(records).toEqual(rows.map((value, i) => ({ line: i + 1, value })));
    }
  });

  it('strips a BOM, accepts CRLF, skips blank lines but counts them in line numbers', async () => {
    const text = `\uFEFF${JSON.stringify(rows[0])}\r\n\r\n   \r\n${JSON.stringify(rows[1])}\r\n\n${JSON.stringify(rows[2])}`;
    for (const chunkSize of [1, 2, 3, 7, 1000]) {
      const { records, stats } = await read(text, chunkSize);
      expect(records.map((r) => r.line)).toEqual([1, 4, 6]);
      expect(records.map((r) => r.value)).toEqual(rows);
      expect(stats).toEqual({ lines: 6, blank: 3, records: 3, rejected: 0, bytes: Buffer.byteLength(text) });
    }
  });

  it('turns invalid JSON into a reject with file, line and a short excerpt, and goes on', async () => {
    const text = `${JSON.stringify(rows[0])}\n{"id": "x", oops}\n${JSON.stringify(rows[1])}\n{"id": "cut`;
    const { records, rejects, stats } = await read(text, 5);
    expect(records.map((r) => r.line)).toEqual([1, 3]);
    expect(rejects).toEqual([
      expect.objectContaining({ file: 'data.jsonl', line: 2, stage: 'readJsonl', code: 'E_BAD_JSON', message: expect.stringMatching(/invalid JSON: .*starts \{"id": "x", oops\}/) }),
      expect.objectContaining({ line: 4, code: 'E_BAD_JSON' }),
    ]);
    expect(stats.records + stats.rejected).toBe(4);
  });

  it('reads a line of tens of MB (a long text) from a file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'be-jsonl-'));
    const file = path.join(dir, 'long.jsonl');
    const long = 'نص طويل جدا '.repeat(2_500_000); // ~30 MB in UTF-8
    await writeFile(file, `${JSON.stringify({ id: 'short' })}\n${JSON.stringify({ id: 'long', text: long })}\n${JSON.stringify({ id: 'after' })}\n`);
    const { onReject, rejects } = rejectsCollector();
    const records = await toArray(readJsonl({ path: file, onReject }));
    expect(rejects).toEqual([]);
    expect(records.map((r) => (r.value as { id: string }).id)).toEqual(['short', 'long', 'after']);
    expect((records[1]!.value as { text: string }).text.length).toBe(long.length);
    // The same through a pipe's 64 KB chunks (split2 alone re-scans the pending line per chunk).
    const piped = await read(await import('node:fs/promises').then((fs) => fs.readFile(file)), 65_536);
    expect(piped.records.map((r) => (r.value as { id: string }).id)).toEqual(['short', 'long', 'after']);
  });

  it('fails clearly on a line over maxLineLength instead of exhausting memory', async () => {
    const { onReject } = rejectsCollector();
    const stream = readJsonl({ stream: fromString(`{"a":1}\n${'x'.repeat(5000)}`, 100), name: 'blob.bin', onReject, maxLineBytes: 1000 });
    await expect(toArray(stream)).rejects.toThrow(/blob\.bin: line 2 is longer than 1000 bytes/);
  });

  it('passes a failing rejects sink error through as it is, not as a dataset error', async () => {
    const failing = async () => {
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    const stream = readJsonl({ stream: fromString('oops\n{"a":1}\n', 3), name: 'data.jsonl', onReject: failing });
    await expect(toArray(stream)).rejects.toThrow(/^ENOSPC: no space left/);
  });

  it('reads ahead of a stalled consumer by a bounded amount, not the whole input (control: a fast consumer reads it all)', async () => {
    const line = `${JSON.stringify({ id: 'x', text: 'نص '.repeat(100) })}\n`;
    const total = 20_000; // ~14 MB of lines
    let pulled = 0;
    const lazy = () =>
      new Readable({
        read() {
          pulled++;
          this.push(pulled > total / 100 ? null : Buffer.from(line.repeat(100)));
        },
      });
    const { onReject } = rejectsCollector();
    const stream = readJsonl({ stream: lazy(), onReject });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    await new Promise((r) => setTimeout(r, 100));
    const chunkBytes = Buffer.byteLength(line) * 100;
    // A few chunks (stream buffers and split2's queue), far from the 200 chunks of the input.
    expect(pulled * chunkBytes).toBeLessThan(2_000_000);
    await it.return?.();
    pulled = 0;
    expect((await toArray(readJsonl({ stream: lazy(), onReject }))).length).toBe(total);
    expect(pulled).toBeGreaterThan(total / 100);
  });

  it('names a missing file', async () => {
    const { onReject } = rejectsCollector();
    await expect(toArray(readJsonl({ path: '/nonexistent/data.jsonl', onReject }))).rejects.toThrow(/\/nonexistent\/data\.jsonl: no such file/);
  });

  it('checks its options', () => {
    expect(() => readJsonl({ onReject: async () => {} })).toThrow(/exactly one of path and stream/);
    expect(() => readJsonl({ path: 'x', onReject: 'no' as never })).toThrow(/onReject/);
  });

  it('property: any chunking of any rows gives the same records', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 20 }), { maxKeys: 4 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        async (values, chunkSize, crlf) => {
          const text = values.map((v) => JSON.stringify(v)).join(crlf ? '\r\n' : '\n');
          const { records, rejects } = await read(text, chunkSize);
          expect(rejects).toEqual([]);
          expect(records.map((r) => r.value)).toEqual(values);
        },
      ),
      { numRuns: 60 },
    );
  });
});
