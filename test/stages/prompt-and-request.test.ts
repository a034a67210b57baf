import { describe, expect, it } from 'vitest';
import { applyPrompt } from '../../src/stages/apply-prompt.js';
import { toRequestLine } from '../../src/stages/to-request-line.js';
import { segmentsToString } from '../../src/core/shards/line-writer.js';
import { fromArray, toArray } from '../helpers/streams.js';
import type { DatasetRow } from '../../src/types.js';

const rows: DatasetRow[] = [
  { line: 1, id: 'a', imgPath: 'x.jpg', label: 'propaganda', text: 'مصر أولاً' },
  { line: 2, id: 'b', imgPath: 'y.jpg', label: 'not-propaganda' },
];

describe('applyPrompt stage', () => {
  it('adds the rendered prompt and keeps every other field, including custom ones', async () => {
    const tagged = rows.map((r) => ({ ...r, extra: r.id.toUpperCase() }));
    const out = await toArray(applyPrompt<(typeof tagged)[number]>({ template: 'Label {} — answer {"explanation": "..."}' })(fromArray(tagged)));
    expect(out.map((r) => r.prompt)).toEqual([
      'Label propaganda — answer {"explanation": "..."}\nText extracted: مصر أولاً',
      // No text: no dangling prefix.
      'Label not-propaganda — answer {"explanation": "..."}',
    ]);
    expect(out.map((r) => r.extra)).toEqual(['A', 'B']);
  });

  it('takes a prompt function instead of a template', async () => {
    const out = await toArray(applyPrompt<DatasetRow>({ render: (r) => `Explain ${r.id}` })(fromArray(rows)));
    expect(out.map((r) => r.prompt)).toEqual(['Explain a', 'Explain b']);
  });

  it('fails at construction on a template without {} or on both a template and a function', () => {
    expect(() => applyPrompt({ template: 'no label', templateSource: 'p.txt' })).toThrow(/p\.txt has no \{\}/);
    expect(() => applyPrompt({ template: '{}', render: () => '' })).toThrow(/exactly one of template and render/);
  });
});

describe('toRequestLine stage', () => {
  it('makes request lines, text-only when a row has no image', async () => {
    const prompted = rows.map((r) => ({ ...r, prompt: `p-${r.id}` }));
    const out = await toArray(toRequestLine({ model: 'dep', provider: 'azure' })(fromArray(prompted)));
    expect(out.map((l) => [l.line, l.customId])).toEqual([[1, 'a'], [2, 'b']]);
    const first = JSON.parse(segmentsToString(out[0]!.segments));
    expect(first).toMatchObject({ custom_id: 'a', url: '/chat/completions', body: { model: 'dep', messages: [{ content: [{ type: 'text', text: 'p-a' }] }] } });
  });

  it('checks its options at construction', () => {
    expect(() => toRequestLine({ model: '' })).toThrow(/model/);
  });
});
