import { isUtf8 } from 'node:buffer';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lineText, Utf8Blocks, whyNotAnObject } from '../../../src/core/json/json-line-check.js';
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
});
