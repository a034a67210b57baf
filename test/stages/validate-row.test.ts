import { describe, expect, it } from 'vitest';
import { checkRow, validateRow } from '../../src/stages/validate-row.js';
import { collect } from '../helpers/streams.js';

const ok = { id: 'x', img_path: 'a.jpg', class_label: 'propaganda' };

describe('checkRow', () => {
  it.each([
    [{ ...ok, text: 'مرحبا' }, { id: 'x', imgPath: 'a.jpg', label: 'propaganda', text: 'مرحبا' }],
    [{ ...ok, id: 42 }, { id: '42', imgPath: 'a.jpg', label: 'propaganda' }],
    [{ ...ok, class_label: ['propaganda', ' loaded language ', ''] }, { id: 'x', imgPath: 'a.jpg', label: 'propaganda, loaded language' }],
    [{ ...ok, extracted_text: 'from OCR' }, { id: 'x', imgPath: 'a.jpg', label: 'propaganda', text: 'from OCR' }],
    [{ ...ok, text: null, extracted_text: 'fallback' }, { id: 'x', imgPath: 'a.jpg', label: 'propaganda', text: 'fallback' }],
    [{ ...ok, text: 2020 }, { id: 'x', imgPath: 'a.jpg', label: 'propaganda', text: '2020' }],
  ])('accepts %j', (value, row) => {
    expect(checkRow({ line: 7, value }, { onReject: () => {} })).toEqual({ ok: true, row: { line: 7, ...row } });
  });

  it.each([
    ['a string', 'E_NOT_OBJECT', /expected a JSON object, got the string/],
    [null, 'E_NOT_OBJECT', /got null/],
    [[ok], 'E_NOT_OBJECT', /got an array/],
    [{ img_path: 'a', class_label: 'p' }, 'E_MISSING_FIELD', /field "id" is missing/],
    [{ ...ok, id: null }, 'E_MISSING_FIELD', /field "id" is missing/],
    [{ ...ok, id: { a: 1 } }, 'E_FIELD_TYPE', /field "id" must be a string or an integer, got an object/],
    [{ ...ok, id: true }, 'E_FIELD_TYPE', /got the boolean true/],
    [{ ...ok, id: 1.5e300 }, 'E_FIELD_TYPE', /cannot keep exact/],
    [{ ...ok, id: '  ' }, 'E_EMPTY_FIELD', /field "id" is empty/],
    [{ id: 'x', class_label: 'p' }, 'E_MISSING_FIELD', /field "img_path" is missing/],
    [{ ...ok, img_path: 5 }, 'E_FIELD_TYPE', /field "img_path" must be a path, a URL or image bytes \(\{bytes, path\}\), got the number 5/],
    [{ ...ok, img_path: '' }, 'E_EMPTY_FIELD', /field "img_path" is empty/],
    [{ id: 'x', img_path: 'a' }, 'E_MISSING_FIELD', /field "class_label" is missing/],
    [{ ...ok, class_label: { a: 1 } }, 'E_FIELD_TYPE', /class_label" must be a string, a number or a boolean, or an array of them; found an object/],
    [{ ...ok, class_label: ['a', 2] }, 'E_FIELD_TYPE', /holds the number 2: a label that is not text needs --label-map/],
    [{ ...ok, class_label: [] }, 'E_EMPTY_FIELD', /class_label" is empty/],
    [{ ...ok, text: { t: 1 } }, 'E_FIELD_TYPE', /field "text" must be a string, got an object/],
  ])('rejects %j with %s', (value, code, message) => {
    const result = checkRow({ line: 1, value }, { onReject: () => {} });
    expect(result.ok).toBe(false);
    expect(result.ok ? null : result.reject).toMatchObject({ code, message: expect.stringMatching(message) });
  });

  it('uses the configured field names and can make the image optional', () => {
    const value = { key: 'k', label: 'hateful', caption: 'c' };
    const opts = { onReject: () => {}, idField: 'key', labelField: 'label', textFields: ['caption'], requireImage: false };
    expect(checkRow({ line: 1, value }, opts)).toEqual({ ok: true, row: { line: 1, id: 'k', imgPath: '', label: 'hateful', text: 'c' } });
  });
});

describe('validateRow stage', () => {
  it('passes good rows on in order and sends bad ones to onReject with file, line and id', async () => {
    const records = [
      { line: 1, value: ok },
      { line: 2, value: { ...ok, id: 'y', class_label: 7 } },
      { line: 4, value: { ...ok, id: 'z' } },
    ];
    const { rows, rejects } = await collect((onReject) => validateRow({ onReject, file: 'd.jsonl' }), records);
    expect(rows.map((r) => r.id)).toEqual(['x', 'z']);
    expect(rejects).toEqual([{ file: 'd.jsonl', line: 2, id: 'y', stage: 'validateRow', code: 'E_FIELD_TYPE', message: expect.any(String) }]);
  });

  it('checks its options at construction', () => {
    expect(() => validateRow({} as never)).toThrow(/onReject/);
    expect(() => validateRow({ onReject: () => {}, idField: '' })).toThrow(/idField/);
  });
});
