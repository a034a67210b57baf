import { isUtf8 } from 'node:buffer';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lineText, plainLines, Utf8Blocks, whyNotAnObject } from '../../../src/core/json/json-line-check.js';
import { JsonSkipper } from '../../../src/core/json/result-json.js';
import { bufferLines } from '../../../src/core/io/sync-lines.js';
import { tempDir } from '../../helpers/server.js';

describe('json-line-check', () => {
  it('tells a JSON object line from anything else, trusting the build only for rows it parsed', () => {
    const skipper = new JsonSkipper();
    const why = (text: string | Buffer, trusted = false, code?: string) => {
      const buf = Buffer.from(text);
      return whyNotAnObject(buf, 0, buf.length, isUtf8(buf), code, trusted, skipper);
    };
    expect(why('{"id": "a", "x": [1, {"y": null}]}')).toBeNull();
    expect(why('  {"id": "a"}  \r')).toBeNull();
    expect(why('{}')).toBeNull();
    expect(why('not json')).toBe('the line is not a JSON object');
    expect(why('[1, 2]')).toBe('the line is not a JSON object');
    expect(why('"a string"')).toBe('the line is not a JSON object');
    expect(why('{"id": "a", "x": }')).toMatch(/^invalid JSON: /);
    expect(why('{"id": "a"} {"id": "b"}')).toMatch(/^invalid JSON: /);
    expect(why(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))).toBe('the line is not valid UTF-8');
    // Trusted (explained, with the build's rejects): only the cheap checks and the build's verdict.
    expect(why('{"id": "a", "x": }', true)).toBeNull();
    expect(why('{"id": "a", "x": }', true, 'E_BAD_JSON')).toBe('the line is not valid JSON');
    // Nested deeper than the skipper goes: the parser decides.
    expect(why(`{"a": ${'['.repeat(100)}${']'.repeat(100)}}`)).toBeNull();
  });

  it('keeps the text of a dropped line, as base64 when it is not UTF-8', () => {
    expect(lineText(Buffer.from('x\u001by'), 0, 3)).toEqual({ text: 'x\u001by' });
    expect(lineText(Buffer.from([0xff, 0x41]), 0, 2)).toEqual({ text_base64: Buffer.from([0xff, 0x41]).toString('base64') });
  });

  it('checks UTF-8 a block at a time with the verdict of a check line by line, whatever the blocks and the bad lines (property)', async () => {
    const dir = await tempDir('be-utf8-');
    const line = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => Buffer.from(s.replace(/\n/g, ' '))),
      fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b).filter((x) => x !== 10)),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 40 }), fc.integer({ min: 16, max: 256 }), async (lines, block) => {
        const file = path.join(dir, `d${n++}.jsonl`);
        await writeFile(file, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));
        const blocks = new Utf8Blocks();
        for (const v of bufferLines(file, block)) {
          const bytes = v.buf.subarray(v.start, v.end);
          expect(blocks.valid(v, v.start), `line ${v.line}`).toBe(isUtf8(bytes));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('tells plain only lines that need no check, and every ordinary object line (property)', () => {
    const name = Buffer.from('generated_explanation');
    const skipper = new JsonSkipper();
    const object = fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.integer(), fc.constant(null), fc.array(fc.boolean(), { maxLength: 3 })), { maxKeys: 4 });
    const line = fc.oneof(
      object.map((o) => Buffer.from(JSON.stringify(o))),
      object.map((o) => Buffer.from(JSON.stringify(o, null, 1).replace(/\n/g, ' '))),
      object.map((o) => Buffer.from(`{"generated_explanation": null, "x": ${JSON.stringify(o)}}`)),
      object.map((o) => Buffer.from(`{"t": "the generated_explanation", "x": ${JSON.stringify(o)}}`)),
      object.map((o) => Buffer.from(` ${JSON.stringify(o)}\t`)),
      object.map((o) => Buffer.from(`${JSON.stringify(o)}\r`)),
      object.map((o) => Buffer.from(`\ufeff${JSON.stringify(o)}`)),
      fc.constantFrom('', '  ', '[1, 2]', '"text"', '{"a": }', '{"a": 1} {"b": 2}', '{"a": 1', 'not json', `{"a": ${'['.repeat(70)}${']'.repeat(70)}}`).map((t) => Buffer.from(t)),
      fc.constant(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])),
    );
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 20 }), fc.boolean(), fc.nat(), fc.nat(), (lines, finalNewline, a, b) => {
        const buf = Buffer.concat(lines.flatMap((l, i) => (i < lines.length - 1 || finalNewline ? [l, Buffer.from('\n')] : [l])));
        const from = a % (buf.length + 1);
        const to = from + (b % (buf.length - from + 1));
        const startsLine = from === 0 || buf[from - 1] === 10;
        const told = plainLines(buf, from, to, startsLine, name, skipper);
        // The lines it should read: those starting in [from, to) whose newline is before `to`.
        const expected: number[] = [];
        for (let s = 0; s < buf.length; ) {
          const nl = buf.indexOf(10, s);
          if (nl === -1) break;
          if (s >= from && nl < to) {
            expected.push(s);
          }
          s = nl + 1;
        }
        expect(told.to - told.from > 0).toBe(expected.length > 0);
        if (expected.length === 0) return;
        expect(told.from).toBe(expected[0]);
        expect(told.to).toBe(buf.indexOf(10, expected.at(-1)!) + 1);
        for (const s of expected) {
          let end = buf.indexOf(10, s);
          if (end > s && buf[end - 1] === 13) end--;
          const bytes = buf.subarray(s, end);
          const text = bytes.toString();
          let parsed: unknown = null;
          try {
            parsed = JSON.parse(text);
          } catch {}
          // Plain: the line needs no check at all (what whyNotAnObject says, without the build's verdict).
          const needsNoCheck = isUtf8(bytes) && text.startsWith('{') && text.endsWith('}') && typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && !bytes.includes(name);
          const plain = !told.notPlain.includes(s);
          if (plain) {
            expect(needsNoCheck, `line at ${s}: ${text}`).toBe(true);
            expect(whyNotAnObject(buf, s, end, true, undefined, false, skipper)).toBeNull();
          }
          // Every ordinary object line is told plain (not one nested past the skipper's depth).
          else if (needsNoCheck && !text.includes('[[[[')) expect.fail(`line at ${s} not plain: ${text}`);
        }
      }),
      { numRuns: 500 },
    );
  });
});
