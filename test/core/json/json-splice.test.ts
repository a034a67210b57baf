import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { setTopLevelField } from '../../../src/core/json/json-splice.js';

describe('setTopLevelField', () => {
  it.each([
    ['{"id": "a", "n": 1.0, "text": "مصر"}', '"x"', '{"id": "a", "n": 1.0, "text": "مصر", "generated_explanation": "x"}'],
    ['{"id":"a","n":1e3}', '"x"', '{"id":"a","n":1e3,"generated_explanation":"x"}'],
    ['{"id": 1 }  ', '"x"', '{"id": 1, "generated_explanation": "x" }  '],
    ['{}', 'null', '{"generated_explanation":null}'],
    ['{ }', 'null', '{"generated_explanation":null }'],
    ['{"generated_explanation": "old", "id": 1}', '"new"', '{"generated_explanation": "new", "id": 1}'],
    ['{"id": 1, "generated_explanation" :  null }', '"v"', '{"id": 1, "generated_explanation" :  "v" }'],
    ['{"nested": {"generated_explanation": "inner"}, "k": "generated_explanation"}', '"top"', '{"nested": {"generated_explanation": "inner"}, "k": "generated_explanation", "generated_explanation": "top"}'],
    ['{"a": [1, {"b": "}"}], "generated_explanation": {"x": [1, 2]}}', '"flat"', '{"a": [1, {"b": "}"}], "generated_explanation": "flat"}'],
    ['{"a": "\\"generated_explanation\\": 1"}', '1', '{"a": "\\"generated_explanation\\": 1", "generated_explanation": 1}'],
  ])('%s', (input, value, expected) => {
    expect(setTopLevelField(input, 'generated_explanation', value)).toBe(expected);
  });

  it('property: the result parses, keeps every other field, and holds the value', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }), fc.string(), (obj, value) => {
        const text = JSON.stringify(obj);
        const out = JSON.parse(setTopLevelField(text, 'field', JSON.stringify(value)));
        expect(out.field).toEqual(value);
        const { field: _f, ...rest } = out;
        const { field: _g, ...expected } = JSON.parse(text);
        expect(rest).toEqual(expected);
      }),
    );
  });
});
