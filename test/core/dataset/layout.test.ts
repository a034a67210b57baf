import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { LayoutWriter, outputFormatOf } from '../../../src/core/dataset/layout-output.js';
import { jobMapping } from '../../../src/core/dataset/mapping.js';
import { embeddedImage, rowFields } from '../../../src/core/dataset/row-view.js';
import { PRESETS } from '../../../src/core/dataset/presets.js';

describe('the merged output in the dataset\'s layout', () => {
  it('chooses the format: the output name first, else CSV/TSV as they came and JSONL for the rest', () => {
    expect([outputFormatOf('-', 'csv'), outputFormatOf('-', 'tsv'), outputFormatOf('-', 'json'), outputFormatOf('-', 'parquet'), outputFormatOf('m.JSON', 'parquet'), outputFormatOf('m.jsonl', 'csv'), outputFormatOf('m.csv', 'tsv'), outputFormatOf('m.Parquet', 'json')]).toEqual([
      'csv', 'tsv', 'jsonl', 'jsonl', 'json', 'jsonl', 'tsv', 'parquet',
    ]);
  });

  it('CSV: the header once with one more column, fields quoted where they must be, round-tripping through a parser', () => {
    const w = new LayoutWriter('csv', 'generated_explanation');
    const text = w.row({ '': '0', image_name: 'a.jpg', text: 'two\nlines, "quoted"' }, 'because, "so"') + w.row({ '': '1', image_name: 'b.jpg', text: 'x' }, null) + w.end(false);
    expect(parse(text, { columns: true })).toEqual([
      { '': '0', image_name: 'a.jpg', text: 'two\nlines, "quoted"', generated_explanation: 'because, "so"' },
      { '': '1', image_name: 'b.jpg', text: 'x', generated_explanation: '' },
    ]);
    // A column of the field's name (an earlier merge) is replaced, not doubled; field null writes the rows as they are.
    const again = new LayoutWriter('csv', 'e');
    expect(again.row({ a: '1', e: 'old', b: '2' }, 'new')).toBe('a,b,e\n1,2,new\n');
    const asIs = new LayoutWriter('csv', null);
    expect(asIs.row({ '': '0', image_name: 'a.jpg' }, 'ignored') + asIs.row({ '': '1', image_name: 'b.jpg' }, null)).toBe(',image_name\n0,a.jpg\n1,b.jpg\n');
    const jsonAsIs = new LayoutWriter('json', null);
    expect(JSON.parse(jsonAsIs.row({ labels: [1] }, 'x', 'k') + jsonAsIs.end(true))).toEqual({ k: { labels: [1] } });
    const tsv = new LayoutWriter('tsv', 'e');
    expect(tsv.row({ file_name: '1.jpg', 'Text Transcription': 'a b' }, 'x')).toBe('file_name\tText Transcription\te\n1.jpg\ta b\tx\n');
  });

  it('JSON: an array, or an object keyed by id as it came; JSONL gives a keyed row its key as id; bytes become base64', () => {
    const arr = new LayoutWriter('json', 'e');
    expect(JSON.parse(arr.row({ id: 1 }, 'a') + arr.row({ id: 2 }, null) + arr.end(false))).toEqual([{ id: 1, e: 'a' }, { id: 2, e: null }]);
    const keyed = new LayoutWriter('json', 'e');
    expect(JSON.parse(keyed.row({ labels: [0] }, 'a', '11') + keyed.end(true))).toEqual({ '11': { labels: [0], e: 'a' } });
    expect(new LayoutWriter('json', 'e').end(true)).toBe('{}\n');
    const jsonl = new LayoutWriter('jsonl', 'e');
    expect(jsonl.row({ labels: [0], image: { bytes: new Uint8Array([1, 2, 3]), path: 'p' } }, 'a', '11')).toBe('{"id":"11","labels":[0],"image":{"bytes":"AQID","path":"p"},"e":"a"}\n');
    // A Buffer (what the Parquet reader gives) too, though its toJSON runs before the replacer sees it.
    expect(jsonl.row({ image: { bytes: Buffer.from([1, 2, 3]), path: 'p' }, raw: Buffer.from([255]) }, 'a')).toBe('{"image":{"bytes":"AQID","path":"p"},"raw":"/w==","e":"a"}\n');
    const buffers = new LayoutWriter('json', 'e');
    expect(JSON.parse(buffers.row({ b: Buffer.from('hi') }, null) + buffers.end(false))).toEqual([{ b: 'aGk=', e: null }]);
  });
});

describe('jobMapping and rowFields', () => {
  it('records nothing for JSONL with the default fields, else the format and the fields', () => {
    expect(jobMapping('jsonl', {})).toBeUndefined();
    expect(jobMapping('jsonl', { idField: 'id', textFields: ['text', 'extracted_text'] })).toBeUndefined();
    expect(jobMapping('csv', {})).toEqual({ format: 'csv' });
    expect(jobMapping('jsonl', PRESETS['hateful-memes'].mapping)).toMatchObject({ format: 'jsonl', imageField: 'img', labelMap: { '0': 'not-hateful' } });
  });

  it('reads a merged row through the mapping, as the prompt had it', () => {
    expect(rowFields({ id: 42953, img: 'img/42953.png', label: 1, text: 't' }, PRESETS['hateful-memes'].mapping)).toEqual({ id: '42953', label: 'hateful', imgPath: 'img/42953.png', embedded: false, text: 't' });
    expect(rowFields({ id: '11', labels: [1, 1, 0], tweet_text: 'x' }, PRESETS.mmhs150k.mapping)).toEqual({ id: '11', label: 'racist', imgPath: 'img_resized/11.jpg', embedded: false, text: 'x' });
    // An embedded image: its struct's path names no file here; its bytes come from the row (base64 once merged into JSON).
    expect(rowFields({ id: 'a', image: { bytes: new Uint8Array(1), path: 'a.png' }, class_label: 'p' }, { imageField: 'image' })).toMatchObject({ imgPath: null, embedded: true, label: 'p' });
    expect(embeddedImage({ image: { bytes: 'iVBORw==', path: 'a.png' } }, { imageField: 'image' })).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    expect(embeddedImage({ image: Buffer.from([1, 2]) }, { imageField: 'image' })).toEqual(Buffer.from([1, 2]));
    expect(embeddedImage({ image: { bytes: null, path: 'a.png' } }, { imageField: 'image' })).toBeNull();
    expect(rowFields({ image: { bytes: null, path: 'a.png' } }, { imageField: 'image' })).toMatchObject({ imgPath: 'a.png', embedded: false });
    expect(rowFields({ id: 'a', label: 7 }, PRESETS['hateful-memes'].mapping)).toMatchObject({ label: '(none)', imgPath: null, text: null });
  });
});
