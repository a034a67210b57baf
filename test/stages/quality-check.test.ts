import { describe, expect, it } from 'vitest';
import { FLAG_BIT, flagNames } from '../../src/core/quality/quality.js';
import { qualityCheck } from '../../src/stages/quality-check.js';
import { labelOf, type MergedRecord } from '../../src/core/quality/quality-checker.js';
import { fromArray, toArray } from '../helpers/streams.js';

const words = (n: number, word = 'word') => Array.from({ length: n }, () => word).join(' ');
const record = (line: number, value: unknown, extra: Partial<MergedRecord> = {}): MergedRecord => ({ line, ref: line * 10, value, ...extra });

describe('qualityCheck stage', () => {
  it('flags each row and names the first row of a repeated text when the second comes', async () => {
    const stage = qualityCheck({ minWords: 3, maxWords: 8, script: 'latin' });
    const rows = await toArray(
      stage(
        fromArray([
          record(1, { id: 'a', class_label: 'propaganda', generated_explanation: words(5, 'fine') }),
          record(2, { id: 2, class_label: ['propaganda', 'loaded language'], generated_explanation: null }, { failure: { reason: 'api_error', code: 'http_500' } }),
          record(3, { id: 'c', class_label: 'not-propaganda', generated_explanation: 'two words' }),
          record(4, { id: 'd', class_label: 'propaganda', generated_explanation: `  ${words(5, 'FINE')}\n` }),
          record(5, [1, 2, 3]),
          record(6, undefined),
          record(7, { id: 'g', class_label: 'hateful', generated_explanation: words(9) }),
          record(8, { id: 'h', class_label: 'hateful', generated_explanation: words(5, 'fine') }),
        ]),
      ),
    );
    expect(rows.map((r) => [r.line, r.id, r.label, flagNames(r.flags)])).toEqual([
      [1, 'a', 'propaganda', []],
      [2, '2', 'propaganda, loaded language', ['missing']],
      [3, 'c', 'not-propaganda', ['too_short']],
      [4, 'd', 'propaganda', ['duplicate_text']],
      [5, null, '(none)', ['missing']],
      [6, null, '(none)', ['missing']],
      [7, 'g', 'hateful', ['too_long']],
      [8, 'h', 'hateful', ['duplicate_text']],
    ]);
    expect(rows[1]!.failure).toEqual({ reason: 'api_error', code: 'http_500' });
    expect(rows[3]!.duplicate).toEqual({ count: 2, firstRef: 10, firstFlags: 0 });
    expect(rows[7]!.duplicate).toEqual({ count: 3, firstRef: 10, firstFlags: 0 });
    expect(rows[0]!.words).toBe(5);
    expect(stage.checker.duplicates.duplicateStats()).toEqual({ groups: 1, rows: 3 });
  });

  it('reads the explanation from another field, and treats a non-string as missing', async () => {
    const stage = qualityCheck({ field: 'explanation', minWords: 1 });
    const rows = await toArray(stage(fromArray([record(1, { id: 'a', explanation: 'ok' }), record(2, { id: 'b', explanation: 3, generated_explanation: 'x' })])));
    expect(rows.map((r) => r.flags)).toEqual([0, FLAG_BIT.missing]);
  });

  it('checks its options at construction, quoting the value', () => {
    expect(() => qualityCheck({ minWords: -1 })).toThrow(/option minWords: expected an integer ≥ 0, got -1/);
    expect(() => qualityCheck({ minWords: 50, maxWords: 10 })).toThrow(/option maxWords: expected an integer ≥ minWords \(50\), got 10/);
    expect(() => qualityCheck({ script: 'cyrillic' as never })).toThrow(/option script: expected arabic, latin or null, got "cyrillic"/);
    expect(() => qualityCheck({ field: '' })).toThrow(/option field/);
  });

  it("ids: the dataset's rule (a non-empty string, or a safe integer), anything else none", async () => {
    const ids = [' x ', 7, -3, '', '   ', 1.5, 2 ** 53, 1e21, true, null, ['a'], { id: 'a' }];
    const rows = await toArray(qualityCheck()(fromArray(ids.map((id, i) => record(i + 1, { id, generated_explanation: null })))));
    expect(rows.map((r) => r.id)).toEqual([' x ', '7', '-3', null, null, null, null, null, null, null, null, null]);
  });

  it('labels: arrays joined, blanks and other shapes as (none)', () => {
    expect(labelOf(['a', 'b'])).toBe('a, b');
    expect(labelOf('  ')).toBe('(none)');
    expect(labelOf({ x: 1 })).toBe('(none)');
    expect(labelOf(3)).toBe('3');
  });
});
