import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ResultScanner, SCAN_MAX_LINE } from '../../../src/core/results/result-scan.js';
import { resultFromLine } from '../../../src/stages/reverse/read-results.js';
import { explained, httpErrorLine, okLine } from '../../helpers/results.js';

const WHERE = { source: '', order: 0 };

/** The full parse's literal for a line: what the scan must write, or null when the line is no success. */
function fullParse(line: Buffer, field?: string): string | null {
  const r = resultFromLine(line.toString('utf8'), WHERE, field);
  return 'bad' in r || r.explanation === null ? null : JSON.stringify(r.explanation);
}

/** Scans `line` inside a larger buffer (bytes around it must not be read): its literal, or null when left to the full parse. */
function scan(line: Buffer | string, field?: string): string | null {
  const bytes = typeof line === 'string' ? Buffer.from(line) : line;
  const framed = Buffer.concat([Buffer.from('\t\t"x"\\'), bytes, Buffer.from('\n"}]\\ {')]);
  const scanner = new ResultScanner(field);
  const n = scanner.scan(framed, 6, 6 + bytes.length);
  return n === -1 ? null : scanner.output.toString('utf8', 0, n);
}

/** The scan either leaves the line to the full parse or writes exactly the full parse's bytes. */
function expectAgreement(line: Buffer, field?: string): boolean {
  const scanned = scan(line, field);
  if (scanned !== null) {
    const full = fullParse(line, field);
    expect(full, `scanned a line the full parse does not explain: ${line.toString('utf8').slice(0, 300)}`).not.toBeNull();
    expect(Buffer.from(scanned)).toEqual(Buffer.from(full!));
  }
  return scanned !== null;
}

const withContent = (content: string, finish = 'stop') => okLine('data/a.jpg', content, finish);

describe('result scan', () => {
  it('reads the usual successful line: the explanation literal, byte for byte the full parse', () => {
    for (const text of ['شرح الميم: العلم والشعار', 'plain', 'quotes " and \\ backslashes / slashes', 'tabs\tnew\nlines\r\b\f\u0001\u001f\u007f', 'emoji 👨‍👩‍👧‍👦 and \u2028 inside', 'Ünïcödé ½ ✓ 𝒳', '"q"\\'.repeat(20), '"'.repeat(300)]) {
      const line = withContent(explained(text));
      expect(scan(line)).toBe(JSON.stringify(text));
    }
  });

  it('trims as String#trim does, and leaves spaces beyond ASCII at the ends to the full parse', () => {
    expect(scan(withContent(explained(' \t\n padded \u000b\f\r ')))).toBe('"padded"');
    expect(scan(withContent(explained('inner\u00a0space')))).toBe(JSON.stringify('inner\u00a0space'));
    for (const text of ['\u00a0lead', 'trail\u3000', 'trail\u2028 ', ' \ufeff', '\u00a0']) {
      const line = Buffer.from(withContent(explained(text)));
      expect(scan(line)).toBeNull();
      expect(fullParse(line)).toBe(text.trim() === '' ? null : JSON.stringify(text.trim()));
    }
    expect(scan(withContent(explained('  ')))).toBeNull();
  });

  it('decodes escapes of both levels: \\u forms, surrogate pairs, and leaves lone surrogates alone', () => {
    const escapedAnswer = '{"explanation": "caf\\u00e9 \\ud83d\\ude00 \\u0041\\/\\"q\\" \\u001b"}';
    expect(scan(withContent(escapedAnswer))).toBe(JSON.stringify('café 😀 A/"q" \u001b'));
    // The line itself escaping non-ASCII (Python's ensure_ascii).
    const ascii = withContent(explained('مرحبا 😀')).replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    expect(scan(ascii)).toBe(JSON.stringify('مرحبا 😀'));
    // Every character of the answer a \u escape in the line: its quotes, backslashes and control characters among them.
    const allEscaped = (answer: string) => withContent('CONTENT').replace('"CONTENT"', `"${[...answer].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"`);
    for (const text of ['plain', ' q"uo\\te\n ', 'a\u0001b', 'x\\"y']) {
      const line = allEscaped(`{"other": "\\"", "explanation": ${JSON.stringify(text)}, "after": "\\\\"}`);
      expect(scan(line)).toBe(JSON.stringify(text.trim()));
    }
    // More escaped quotes before the explanation than the decoder notes the places of.
    expect(scan(withContent(`{"other": ${JSON.stringify('"'.repeat(300))}, "explanation": " plain "}`))).toBe('"plain"');
    // A control character left raw in the answer: not JSON.
    expect(scan(allEscaped('{"explanation": "a\u0001b"}'))).toBeNull();
    expect(fullParse(Buffer.from(allEscaped('{"explanation": "a\u0001b"}')))).toBeNull();
    for (const answer of ['{"explanation": "lone \\ud800 high"}', '{"explanation": "lone \\udc00 low"}', '{"explanation": "\\ud83d"}']) {
      const line = Buffer.from(withContent(answer));
      expect(scan(line)).toBeNull();
      expect(fullParse(line)).not.toBeNull();
    }
  });

  it('follows JSON.parse on repeated keys (the last one counts)', () => {
    expect(scan(withContent('{"explanation": "first", "explanation": "second"}'))).toBe('"second"');
    const line = withContent(explained('ok'));
    const errorLast = line.replace('"error":null', '"error":null,"error":{"code":"server_error","message":"boom"}');
    expect(fullParse(Buffer.from(errorLast))).toBeNull();
    expect(scan(errorLast)).toBeNull();
    const responseLast = `${line.slice(0, -1)},"response":{"status_code":500,"body":{}}}`;
    expect(fullParse(Buffer.from(responseLast))).toBeNull();
    expect(scan(responseLast)).toBeNull();
    const contentLast = line.replace('"role":"assistant",', '"role":"assistant","content":"{\\"explanation\\":\\"earlier\\"}",');
    expect(scan(contentLast)).toBe('"ok"');
  });

  it('leaves every other line to the full parse', () => {
    const ok = withContent(explained('fine'));
    const cases: Record<string, string> = {
      'an escaped key': withContent('{"expl\\u0061nation": "x"}'),
      'an escaped key in the line': ok.replace('"custom_id"', '"custom\\u005fid"'),
      'finish_reason length': withContent(explained('cut'), 'length'),
      'finish_reason content_filter': withContent(explained('cut'), 'content_filter'),
      'status 200.0': ok.replace('"status_code":200', '"status_code":200.0'),
      'status 2000': ok.replace('"status_code":200', '"status_code":2000'),
      'an error': ok.replace('"error":null', '"error":"boom"'),
      'a number custom_id': ok.replace('"custom_id":"data/a.jpg"', '"custom_id":7'),
      'no custom_id': ok.replace('"custom_id":"data/a.jpg",', ''),
      'an HTTP error': httpErrorLine('a', 500, 'server_error', 'boom'),
      'a raw tab in the content': ok.replace('{\\"explanation\\":', '{\t\\"explanation\\":'),
      'a raw tab in a string': ok.replace('"role":"assistant"', '"role":"assis\ttant"'),
      'a fenced answer': withContent('```json\n{"explanation": "fenced"}\n```'),
      'prose': withContent('Just prose.'),
      'a bare string answer': withContent('"a string"'),
      'a truncated line': ok.slice(0, -2),
      'a truncated answer': withContent('{"explanation": "cut'),
      'garbage after the line': `${ok} x`,
      'garbage after the answer': withContent('{"explanation": "x"} and more'),
      'no choices': ok.replace(/"choices":\[.*\],"usage"/, '"choices":[],"usage"'),
      'choices as an object': ok.replace(/"choices":\[(.*)\],"usage"/, '"choices":{"0":$1},"usage"'),
      'null content': ok.replace(/"content":".*?"\}/, '"content":null}'),
      'a non-string explanation': withContent('{"explanation": 42}'),
      'an array answer': withContent('[{"explanation": "x"}]'),
      'a control character in the answer': withContent('{"explanation": "a\u0001b"}'),
      'a vertical tab before the answer': withContent('\u000b{"explanation": "x"}'),
      'deep nesting': ok.replace('"usage":{', `"usage":{"deep":${'['.repeat(100)}${']'.repeat(100)},`),
      'a leading zero': ok.replace('"created":1', '"created":01'),
      'a bare word': ok.replace('"index":0', '"index":nul'),
    };
    for (const [what, line] of Object.entries(cases)) {
      expect(scan(line), what).toBeNull();
    }
    // Those the full parse explains, it explains as the scan would have.
    expect(fullParse(Buffer.from(cases['a fenced answer']!))).toBe('"fenced"');
    expect(fullParse(Buffer.from(cases['deep nesting']!))).toBe('"fine"');
    expect(fullParse(Buffer.from(cases['a raw tab in the content']!))).toBeNull();
  });

  it('finds each quote, backslash and raw control character of a long string, wherever it lies (read a word at a time)', () => {
    const scanner = new ResultScanner();
    // Bytes before the line move it across the words of its buffer's memory.
    const scanAt = (line: Buffer, shift: number): string | null => {
      const framed = Buffer.concat([Buffer.alloc(shift, 0x22), line, Buffer.from('"\\')]);
      const n = scanner.scan(framed, shift, shift + line.length);
      return n === -1 ? null : scanner.output.toString('utf8', 0, n);
    };
    for (let at = 0; at < 12; at++) {
      for (const shift of [0, 1, 2, 3]) {
        for (const c of ['"', '\\', '\n', '\u0001']) {
          const text = `${'x'.repeat(at)}${c} ${'y'.repeat(40)}`;
          expect(scanAt(Buffer.from(withContent(explained(text))), shift), `${JSON.stringify(c)} at ${at}`).toBe(JSON.stringify(text.trim()));
        }
        const line = Buffer.from(withContent(explained(`${'x'.repeat(at)}A ${'y'.repeat(40)}`)));
        for (const raw of [0x00, 0x09, 0x1f, 0x22, 0x5c]) {
          const damaged = Buffer.from(line);
          damaged[line.indexOf('A')] = raw;
          expect(scanAt(damaged, shift), `${raw} at ${at}`).toBeNull();
          // In a value of the line and in a key (a backslash may make an escape there: the scan may then agree).
          for (const [word, what] of [['chat.completion', 'value'], ['finish_reason', 'key']]) {
            const elsewhere = Buffer.from(line);
            elsewhere[line.indexOf(word!) + (at % word!.length)] = raw;
            const scanned = scanAt(elsewhere, shift);
            if (scanned !== null || raw !== 0x5c) expect(scanned, `${raw} at ${at} in a ${what}`).toBe(raw === 0x5c ? fullParse(elsewhere) : null);
          }
        }
      }
    }
  });

  it('passes JSON whitespace between the tokens of the line and of the answer', () => {
    const spaced = JSON.stringify(JSON.parse(withContent(' \n {"explanation" :\t"x" , "other": [1, {"a": null}]}\r\n ')), null, '\t').replace(/\n/g, ' \r');
    expect(scan(spaced)).toBe('"x"');
  });

  it('leaves invalid UTF-8 in the explanation to the full parse, and reads past it elsewhere', () => {
    const line = Buffer.from(withContent(explained('AB')));
    const inExplanation = Buffer.from(line);
    inExplanation[inExplanation.indexOf('AB')] = 0xff;
    expect(scan(inExplanation)).toBeNull();
    // Overlong, a surrogate, past U+10FFFF, cut short: each in an explanation with no escape, and in one with.
    for (const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
      for (const text of ['x AB y', 'x AB "q" y']) {
        const at = Buffer.from(withContent(explained(text)));
        const damaged = Buffer.concat([at.subarray(0, at.indexOf('AB')), Buffer.from(bad), at.subarray(at.indexOf('AB') + 2)]);
        expect(scan(damaged), `${bad} in ${text}`).toBeNull();
        expect(fullParse(damaged)).toContain('\ufffd');
      }
    }
    const elsewhere = Buffer.from(line);
    elsewhere[elsewhere.indexOf('assistant')] = 0xc3;
    expect(expectAgreement(elsewhere)).toBe(true);
  });

  it('reads the field it is given, and leaves lines longer than its limit to the full parse', () => {
    expect(scan(withContent('{"reason": "r", "explanation": "e"}'), 'reason')).toBe('"r"');
    expect(scan(withContent('{"explanation": "e"}'), 'reason')).toBeNull();
    const long = withContent(explained('x'.repeat(SCAN_MAX_LINE)));
    expect(scan(long)).toBeNull();
    expect(fullParse(Buffer.from(long))).not.toBeNull();
  });

  it('reuses its scratch memory line after line, and grows it for a longer line', () => {
    const scanner = new ResultScanner();
    const lines = ['short', 'x'.repeat(40_000), 'after the long one', 'شرح'].map((t) => Buffer.from(withContent(explained(t))));
    for (const [i, line] of lines.entries()) {
      const n = scanner.scan(line, 0, line.length);
      expect(scanner.output.toString('utf8', 0, n), `line ${i}`).toBe(fullParse(line));
    }
  });

  it('agrees with the full parse on generated lines, valid and damaged (property)', () => {
    let scanned = 0;
    let valid = 0;
    fc.assert(
      fc.property(lineArbitrary, fc.option(mutation, { freq: 3 }), fc.constantFrom(undefined, 'reason'), ({ bytes }, mutate, field) => {
        const line = mutate ? mutate(bytes) : bytes;
        if (!mutate) valid++;
        if (expectAgreement(line, field)) scanned++;
      }),
      { numRuns: 3000 },
    );
    // Not a vacuous property: most valid lines are the usual shape.
    expect(scanned).toBeGreaterThan(valid / 4);
  });
});

// Generated lines: the usual shape with its parts varied (values, repeated and escaped keys,
// whitespace, escapes), written by a JSON writer of our own whose style is drawn too.

const text = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('', ' ', '\u00a0x\u00a0', ' x ', 'x\u2028', '"\\/', '\t\n\r\u000b\f\b', 'شرح الميم', '😀', '\ud800', 'a\u0000b', 'explanation'),
);
const scalar = fc.oneof(text, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
const anyValue = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(fc.constantFrom('a', 'explanation', 'content'), scalar, { maxKeys: 2 }));
const style = fc.record({ seed: fc.integer(), spaces: fc.constantFrom('', ' ', '\t', ' \r\n '), escapeRate: fc.constantFrom(0, 0, 0.1, 1), keyEscapes: fc.constantFrom(false, false, false, true), repeatRate: fc.constantFrom(0, 0, 0.3) });
type Style = { seed: number; spaces: string; escapeRate: number; keyEscapes: boolean; repeatRate: number };

/** JSON.stringify with a style: spaces between tokens, characters written as \u escapes, members repeated before their last value. */
function writeJson(value: unknown, s: Style): string {
  let seed = s.seed;
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const escape = (c: string) => {
    const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
    return `\\u${rand() < 0.5 ? hex : hex.toUpperCase()}`;
  };
  // Each character (or escape JSON.stringify wrote) may be written as a \u escape instead.
  const str = (t: string, escapes = true) => JSON.stringify(t).replace(/\\u[0-9a-f]{4}|\\.|[^"\\]/g, (c) => (escapes && c.length === 1 && rand() < s.escapeRate ? (c === '/' && rand() < 0.5 ? '\\/' : escape(c)) : c));
  const w = (v: unknown): string => {
    if (typeof v === 'string') return str(v);
    if (Array.isArray(v)) return `[${s.spaces}${v.map(w).join(`${s.spaces},${s.spaces}`)}${s.spaces}]`;
    if (v && typeof v === 'object') {
      const members = Object.entries(v).flatMap(([k, x]) => {
        const key = str(k, s.keyEscapes);
        const last = `${key}${s.spaces}:${s.spaces}${w(x)}`;
        return rand() < s.repeatRate ? [`${key}:${w(rand() < 0.5 ? 'earlier' : { earlier: 1 })}`, last] : [last];
      });
      return `{${s.spaces}${members.join(`${s.spaces},${s.spaces}`)}${s.spaces}}`;
    }
    return JSON.stringify(v);
  };
  return w(value);
}

const usualAnswer = fc.oneof(
  fc.tuple(text, style).map(([t, s]) => writeJson({ explanation: t }, s)),
  fc.tuple(text, text, anyValue, style).map(([t, r, other, s]) => writeJson({ other, reason: r, explanation: t }, s)),
);
const answer = fc.oneof(
  usualAnswer,
  fc.tuple(text, fc.constantFrom(' ', '\n', '\u00a0', '```json\n', 'Here: '), style).map(([t, pad, s]) => `${pad}${writeJson({ explanation: t }, s)}${pad === '```json\n' ? '\n```' : pad}`),
  anyValue.map((v) => JSON.stringify(v)),
  text,
);

const parts = {
  customId: fc.oneof({ weight: 5, arbitrary: text }, { weight: 1, arbitrary: anyValue }),
  status: fc.constantFrom<unknown>(200, 500, '200', null),
  content: fc.oneof({ weight: 8, arbitrary: answer }, { weight: 1, arbitrary: anyValue }),
  finish: fc.constantFrom<unknown>('stop', 'length', 'content_filter', null, 1),
  error: fc.constantFrom<unknown>(null, undefined, 'boom', { code: 'batch_expired' }),
  extra: fc.option(anyValue),
  choices: fc.constantFrom('one', 'two', 'none', 'object'),
  lineStyle: style,
};
// Mostly the usual success, its texts and style varied; else any part varied.
const usual = { ...parts, customId: text, status: fc.constant(200), content: usualAnswer, finish: fc.constant('stop'), error: fc.constantFrom(null, undefined), choices: fc.constantFrom('one', 'two') };

const lineArbitrary = fc
  .oneof({ weight: 2, arbitrary: fc.record(usual) }, { weight: 1, arbitrary: fc.record(parts) })
  .map((r) => {
    const choice = { index: 0, message: { role: 'assistant', content: r.content }, finish_reason: r.finish };
    const choices = r.choices === 'one' ? [choice] : r.choices === 'two' ? [choice, { ...choice, message: { content: 'second' } }] : r.choices === 'none' ? [] : { 0: choice };
    const line: Record<string, unknown> = { id: 'batch_req_1', custom_id: r.customId, response: { status_code: r.status, body: { choices, usage: r.extra ?? { total_tokens: 3 } } } };
    if (r.error !== undefined) line['error'] = r.error;
    return { bytes: Buffer.from(writeJson(line, r.lineStyle)) };
  });

/** One random edit of a line's bytes: a byte removed, replaced or inserted. */
const mutation = fc.tuple(fc.nat(), fc.constantFrom('remove', 'replace', 'insert'), fc.constantFrom(0x00, 0x09, 0x0d, 0x22, 0x5c, 0x7b, 0x7d, 0x2c, 0x80, 0xc3, 0xff, 0x20)).map(
  ([at, how, byte]) =>
    (b: Buffer): Buffer => {
      const i = b.length === 0 ? 0 : at % b.length;
      if (how === 'remove') return Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
      if (how === 'replace') return Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i + 1)]);
      return Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
    },
);
