import { describe, expect, it } from 'vitest';
import { checkMapping, fieldAt, imageFromPattern, mapLabel, majority, parseLabelMap } from '../../../src/core/dataset/mapping.js';
import { missingFieldHint, printable } from '../../../src/core/dataset/field-hint.js';
import { formatOf } from '../../../src/core/dataset/formats.js';
import { checkRow } from '../../../src/stages/validate-row.js';
import { PRESETS } from '../../../src/core/dataset/presets.js';

const noop = () => {};

describe('fieldAt', () => {
  it('reads an exact name first (dots and spaces allowed), then a dotted path', () => {
    const row = { 'a.b': 1, a: { b: 2, c: { d: 'x' } }, 'Text Transcription': 't' };
    expect(fieldAt(row, 'a.b')).toBe(1);
    expect(fieldAt(row, 'a.c.d')).toBe('x');
    expect(fieldAt(row, 'Text Transcription')).toBe('t');
    expect(fieldAt(row, 'a.c.e')).toBeUndefined();
    expect(fieldAt(row, 'a.b.c')).toBeUndefined();
    expect(fieldAt({ a: 1 }, 'toString')).toBeUndefined();
  });
});

describe('label maps and votes', () => {
  it('parses pairs and JSON, and refuses what is neither', () => {
    expect(parseLabelMap('0=not-hateful, 1=hateful')).toEqual({ '0': 'not-hateful', '1': 'hateful' });
    expect(parseLabelMap('{"0": "no", "1": 2}')).toEqual({ '0': 'no', '1': '2' });
    expect(() => parseLabelMap('hateful')).toThrow(/pairs raw=label/);
    expect(() => parseLabelMap('{"0": ""}')).toThrow(/labelMap\["0"\]/);
    expect(() => parseLabelMap('{"0": ')).toThrow(/a JSON object/);
  });

  it('maps numbers and booleans, votes arrays, and rejects what the map does not name', () => {
    const map = { '0': 'not hateful', '1': 'racist', '2': 'sexist', true: 'yes' };
    expect(mapLabel(1, 'label', map, 'join')).toEqual({ ok: true, label: 'racist' });
    expect(mapLabel(true, 'label', map, 'join')).toEqual({ ok: true, label: 'yes' });
    expect(mapLabel([0, 2, 2], 'labels', map, 'majority')).toEqual({ ok: true, label: 'sexist' });
    expect(mapLabel([1, 0, 2], 'labels', map, 'majority')).toEqual({ ok: true, label: 'racist' });
    expect(mapLabel([2, 0, 0], 'labels', map, 'first')).toEqual({ ok: true, label: 'sexist' });
    expect(mapLabel([2, 0, 2], 'labels', map, 'join')).toEqual({ ok: true, label: 'sexist, not hateful' });
    expect(mapLabel(7, 'label', map, 'join')).toMatchObject({ ok: false, code: 'E_LABEL_UNMAPPED', message: expect.stringMatching(/"7", which the label map \(0, 1, 2, true\)/) });
    expect(mapLabel(1, 'label', undefined, 'join')).toMatchObject({ ok: false, code: 'E_FIELD_TYPE', message: expect.stringMatching(/needs --label-map/) });
    expect(mapLabel(['', ' '], 'label', undefined, 'join')).toMatchObject({ ok: false, code: 'E_EMPTY_FIELD' });
    expect(majority(['a', 'b', 'b', 'a', 'c'])).toBe('a');
  });
});

describe('image patterns and mapping checks', () => {
  it('builds a path from the id and fields, or names the field it lacks', () => {
    expect(imageFromPattern('img_resized/{id}.jpg', {}, '1114679353714016256')).toEqual({ ok: true, path: 'img_resized/1114679353714016256.jpg' });
    expect(imageFromPattern('images/{image_name}', { image_name: 'image_1.jpg' }, 'x')).toEqual({ ok: true, path: 'images/image_1.jpg' });
    expect(imageFromPattern('images/{image_name}', {}, 'x')).toEqual({ ok: false, field: 'image_name' });
  });

  it('fills defaults and refuses bad values with the option named', () => {
    expect(checkMapping({ labelField: 'label' })).toMatchObject({ idField: 'id', imageField: 'img_path', labelField: 'label', labelVote: 'join' });
    expect(() => checkMapping({ labelVote: 'most' as never })).toThrow(/labelVote: expected one of majority, first, join/);
    expect(() => checkMapping({ idField: '' })).toThrow(/idField/);
    expect(() => checkMapping({ imagePattern: 'img.jpg' })).toThrow(/imagePattern/);
  });

  it('chooses the format by extension, JSONL otherwise and for stdin', () => {
    expect([formatOf('a.JSON'), formatOf('x/labels.csv'), formatOf('t.tsv'), formatOf('h.parquet'), formatOf('d.jsonl'), formatOf('-'), formatOf('data.txt'), formatOf('a.csv', 'tsv')]).toEqual(
      ['json', 'csv', 'tsv', 'parquet', 'jsonl', 'jsonl', 'jsonl', 'tsv'],
    );
  });
});

describe('missingFieldHint', () => {
  it('names the fields seen and the preset and flags that fit (Hateful Memes)', () => {
    const hint = missingFieldHint(['id', 'img', 'label', 'text'], [{ role: 'image', field: 'img_path' }, { role: 'label', field: 'class_label' }]);
    expect(hint).toBe('no "img_path", "class_label"; rows have id, img, label, text: try --preset hateful-memes or --image-field img --label-field label');
  });

  it('offers flags alone when no preset fits, and says what to name when nothing looks right', () => {
    expect(missingFieldHint(['key', 'picture', 'label'], [{ role: 'image', field: 'img_path' }, { role: 'label', field: 'class_label' }])).toBe(
      'no "img_path", "class_label"; rows have key, picture, label: try --label-field label',
    );
    expect(missingFieldHint(['a', 'b'], [{ role: 'id', field: 'id' }])).toBe('no "id"; rows have a, b: name them with --id-field (or see --preset)');
    expect(missingFieldHint(['file_name', 'misogynous', 'Text Transcription'], [{ role: 'id', field: 'id' }, { role: 'image', field: 'img_path' }, { role: 'label', field: 'class_label' }])).toMatch(
      /try --preset mami or --id-field file_name --label-field misogynous$/,
    );
  });

  it('never puts control characters from the data on the terminal', () => {
    expect(printable('a\u001b[31mb')).toBe('"a\\u001b[31mb"');
    expect(printable('c\u009bd')).toBe('"c\\u009bd"');
    expect(missingFieldHint(['\u001b[2J'], [{ role: 'id', field: 'id' }])).not.toMatch(/\u001b/);
  });
});

describe('checkRow with a mapping', () => {
  it('reads Hateful Memes rows with its preset', () => {
    const value = { id: 42953, img: 'img/42953.png', label: 0, text: 'its their character not their color that matters' };
    expect(checkRow({ line: 1, value }, { onReject: noop, ...PRESETS['hateful-memes'].mapping })).toEqual({
      ok: true,
      row: { line: 1, id: '42953', imgPath: 'img/42953.png', label: 'not-hateful', text: value.text },
    });
  });

  it('takes the id from the key of a keyed JSON object, and builds the image path (MMHS150K)', () => {
    const value = { img_url: 'http://pbs.twimg.com/x.jpg', labels: [4, 1, 3], labels_str: ['Religion', 'Racist', 'Homophobe'], tweet_text: 't' };
    expect(checkRow({ line: 3, key: '1114679353714016256', value }, { onReject: noop, ...PRESETS.mmhs150k.mapping })).toEqual({
      ok: true,
      row: { line: 3, id: '1114679353714016256', imgPath: 'img_resized/1114679353714016256.jpg', label: 'religious hate', text: 't' },
    });
  });

  it('reads nested fields and embedded images ({bytes, path} and binary)', () => {
    const bytes = new Uint8Array([0xff, 0xd8, 0xff]);
    const opts = { onReject: noop, idField: 'meta.id', imageField: 'image', labelField: 'meta.label', textFields: ['ocr.text'] };
    expect(checkRow({ line: 1, value: { meta: { id: 'a', label: 'hateful' }, image: { bytes, path: 'a.jpg' }, ocr: { text: 'x' } } }, opts)).toEqual({
      ok: true,
      row: { line: 1, id: 'a', imgPath: 'a.jpg', imageData: bytes, label: 'hateful', text: 'x' },
    });
    expect(checkRow({ line: 2, value: { meta: { id: 'b', label: 'h' }, image: bytes } }, opts)).toMatchObject({ ok: true, row: { imgPath: '', imageData: bytes } });
    expect(checkRow({ line: 3, value: { meta: { id: 'c', label: 'h' }, image: { bytes: null, path: 'c.png' } } }, opts)).toMatchObject({ ok: true, row: { imgPath: 'c.png' } });
    expect(checkRow({ line: 4, value: { meta: { id: 'd', label: 'h' }, image: { bytes: null, path: null } } }, opts)).toMatchObject({ ok: false, reject: { code: 'E_FIELD_TYPE' } });
  });

  it('takes the first text field with text, passing over blank ones (Memotion)', () => {
    const opts = { onReject: noop, ...PRESETS.memotion.mapping };
    const row = { image_name: 'image_3.JPG', offensive: 'slight', text_corrected: ' ', text_ocr: 'from OCR' };
    expect(checkRow({ line: 4, value: row }, opts)).toMatchObject({ ok: true, row: { text: 'from OCR', imgPath: 'images/image_3.JPG' } });
    expect(checkRow({ line: 4, value: { ...row, text_ocr: '' } }, opts)).toMatchObject({ ok: true, row: { text: ' ' } });
  });

  it('rejects a row lacking fields with every missing field and a hint', () => {
    const result = checkRow({ line: 5, value: { id: 1, img: 'img/1.png', label: 1, text: 't' } }, { onReject: noop });
    expect(result).toEqual({
      ok: false,
      reject: {
        id: '1',
        code: 'E_MISSING_FIELD',
        message: 'field "img_path" is missing (and "class_label"); rows have id, img, label, text: try --preset hateful-memes or --image-field img --label-field label',
      },
    });
  });
});
