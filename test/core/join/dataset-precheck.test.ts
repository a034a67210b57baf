import { isUtf8 } from 'node:buffer';
import { statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DatasetPrecheck, MAX_NOT_PLAIN } from '../../../src/core/join/dataset-precheck.js';
import { bufferLines } from '../../../src/core/io/sync-lines.js';
import { tempDir } from '../../helpers/server.js';

/** ~3 MiB of rows, mostly plain, with a line of every other kind now and then (some across blocks). */
async function dataset(dir: string): Promise<string> {
  const odd = ['  {"id": "spaced"}  ', '{"id": "crlf"}\r', '[1, 2]', '{"id": "cut", ', '', 'not json', '{"id": "x", "generated_explanation": "old"}'];
  const lines: Buffer[] = [Buffer.from('\ufeff{"id": "bom"}')];
  for (let i = 0; i < 12_000; i++) {
    if (i % 97 === 5) lines.push(Buffer.from(odd[i % odd.length]!));
    else if (i % 1013 === 7) lines.push(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]));
    else lines.push(Buffer.from(JSON.stringify({ id: `r${i}`, text: `نص ${i} ${'ميم '.repeat(i % 90)}`, n: i })));
  }
  const file = path.join(dir, 'dataset.jsonl');
  // No newline after the last line: it is never told plain (the splice checks it).
  await writeFile(file, Buffer.concat(lines.flatMap((l, i) => (i < lines.length - 1 ? [l, Buffer.from('\n')] : [l]))));
  return file;
}

/** What the precheck may call plain: a line that needs no check at all (UTF-8, a JSON object from its first byte to its last, without the field's name). */
function needsNoCheck(bytes: Buffer): boolean {
  if (!isUtf8(bytes) || bytes.includes('generated_explanation')) return false;
  const text = bytes.toString();
  if (!text.startsWith('{') || !text.endsWith('}')) return false;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

interface Verdict {
  line: number;
  plain: boolean;
  needsNoCheck: boolean;
  /** The file's last line, with no newline after it. */
  unended: boolean;
}

/** Every line's verdict, asked in order as the splice asks. */
function verdicts(file: string, precheck: DatasetPrecheck): Verdict[] {
  const size = statSync(file).size;
  const out: Verdict[] = [];
  for (const v of bufferLines(file)) out.push({ line: v.line, plain: precheck.plain(v.offset), needsNoCheck: needsNoCheck(v.buf.subarray(v.start, v.end)), unended: v.offset + (v.end - v.start) === size });
  return out;
}

const never = () => new Promise<void>(() => {});

describe('DatasetPrecheck', () => {
  it('tells plain every line that needs no check and no other, when it runs to the end of the file', async () => {
    const dir = await tempDir('be-precheck-');
    const file = await dataset(dir);
    const precheck = new DatasetPrecheck({ dataset: file, field: 'generated_explanation' });
    await precheck.runUntil(never());
    const lines = verdicts(file, precheck);
    for (const l of lines) expect(l.plain, `line ${l.line}`).toBe(l.needsNoCheck && !l.unended);
    expect(lines.filter((l) => l.plain).length).toBeGreaterThan(11_000);
    // Left to the splice: the byte-order mark's line, the last line (no newline after it).
    expect(lines[0]!.plain).toBe(false);
    expect(lines.at(-1)!.needsNoCheck).toBe(true);
    expect(lines.at(-1)!.plain).toBe(false);
  });

  it('stops when the wait is over: nothing checked for a wait already over, part of the file for one that ends', async () => {
    const dir = await tempDir('be-precheck-');
    const file = await dataset(dir);
    const none = new DatasetPrecheck({ dataset: file, field: 'generated_explanation' });
    await none.runUntil(Promise.resolve());
    expect(none.checkedTo).toBe(0);
    expect(verdicts(file, none).every((l) => !l.plain)).toBe(true);

    // A wait that ends at the first turn of the event loop: one block (1 MiB of the ~3) is checked.
    const some = new DatasetPrecheck({ dataset: file, field: 'generated_explanation' });
    await some.runUntil(new Promise<void>((resolve) => setImmediate(resolve)));
    expect(some.checkedTo).toBeGreaterThan(0);
    expect(some.checkedTo).toBeLessThanOrEqual(1 << 20);
    const lines = verdicts(file, some);
    for (const l of lines) if (l.plain) expect(l.needsNoCheck, `line ${l.line}`).toBe(true);
    expect(lines.filter((l) => l.plain).length).toBeGreaterThan(1000);
  });

  it('leaves every line to the splice when the file cannot be read, or on abort', async () => {
    const dir = await tempDir('be-precheck-');
    const file = await dataset(dir);
    const gone = new DatasetPrecheck({ dataset: path.join(dir, 'gone.jsonl'), field: 'generated_explanation' });
    await gone.runUntil(never());
    expect(gone.checkedTo).toBe(0);
    const aborted = new DatasetPrecheck({ dataset: file, field: 'generated_explanation' });
    await aborted.runUntil(never(), AbortSignal.abort());
    expect(aborted.checkedTo).toBe(0);
  });

  it('stops at its bound on lines that are not plain, the lines it checked still told', async () => {
    const dir = await tempDir('be-precheck-');
    const file = path.join(dir, 'named.jsonl');
    // Every line names the field: none is plain.
    await writeFile(file, '{"generated_explanation": 1}\n'.repeat(MAX_NOT_PLAIN + 80_000));
    const precheck = new DatasetPrecheck({ dataset: file, field: 'generated_explanation' });
    await precheck.runUntil(never());
    expect(precheck.checkedTo).toBeGreaterThan(0);
    expect(precheck.checkedTo).toBeLessThan(statSync(file).size);
    expect(verdicts(file, precheck).some((l) => l.plain)).toBe(false);
  });
});
