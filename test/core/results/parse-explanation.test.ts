import { describe, expect, it } from 'vitest';
import { parseExplanation } from '../../../src/core/results/parse-explanation.js';

const ar = 'تستخدم الصورة علم مصر ورموزاً وطنية، ويقول النص «مصر أولاً» لإثارة مشاعر الانتماء.';
const en = 'The meme pairs a flag with the slogan "Egypt first" to stir national pride.';

describe('parseExplanation', () => {
  it.each([
    ['plain JSON', `{"explanation": "${en.replaceAll('"', '\\"')}"}`, en, 'json'],
    ['plain JSON, Arabic', `{"explanation": "${ar}"}`, ar, 'json'],
    ['pretty JSON with spaces', `\n{\n  "explanation": "${ar}"\n}\n`, ar, 'json'],
    ['fenced json', `\`\`\`json\n{"explanation": "${ar}"}\n\`\`\``, ar, 'fenced'],
    ['fenced without a language', `\`\`\`\n{"explanation": "${ar}"}\n\`\`\``, ar, 'fenced'],
    ['fenced with prose around', `Here is my answer:\n\`\`\`json\n{"explanation": "${ar}"}\n\`\`\`\nHope this helps.`, ar, 'fenced'],
    ['JSON after prose', `Sure! {"explanation": "${ar}"}`, ar, 'embedded'],
    ['JSON before prose', `{"explanation": "${ar}"} Let me know if you need more.`, ar, 'embedded'],
    ['braces inside the string', '{"explanation": "The text {in braces} stays."}', 'The text {in braces} stays.', 'json'],
    ['escaped quotes and unicode escapes', '{"explanation": "He said \\"no\\" \\u0645\\u0635\\u0631"}', 'He said "no" مصر', 'json'],
    ['extra fields', `{"label": "propaganda", "explanation": "${ar}", "confidence": 0.9}`, ar, 'json'],
    ['a bare JSON string', JSON.stringify(en), en, 'string'],
    ['plain prose', en, en, 'prose'],
    ['Arabic prose', ar, ar, 'prose'],
  ])('%s', (_name, content, explanation, shape) => {
    expect(parseExplanation(content, 'stop')).toEqual({ ok: true, explanation, shape });
  });

  it.each([
    ['a truncated answer', `{"explanation": "${ar.slice(0, 20)}`, 'length', 'truncated'],
    ['truncated even if it parses', `{"explanation": "${ar}"}`, 'length', 'truncated'],
    ['a filtered answer', '', 'content_filter', 'content_filter'],
    ['an empty answer', '   ', 'stop', 'empty'],
    ['null content', null, 'stop', 'empty'],
    ['the field missing', '{"reason": "it is propaganda"}', 'stop', 'missing_field'],
    ['the field not a string', '{"explanation": ["a", "b"]}', 'stop', 'missing_field'],
    ['the field empty', '{"explanation": "  "}', 'stop', 'empty'],
    ['JSON that is not an object', '[1, 2, 3]', 'stop', 'unparseable'],
    ['an object that never closes (finish_reason stop)', '{"explanation": "Cut', 'stop', 'unparseable'],
    ['braces but no valid JSON', 'The answer is {not json} really', 'stop', 'unparseable'],
  ])('refuses %s', (_name, content, finish, reason) => {
    const r = parseExplanation(content, finish);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.reason).toBe(reason);
  });

  it('reads a configured field, and can refuse prose', () => {
    expect(parseExplanation('{"why": "x"}', 'stop', { field: 'why' })).toMatchObject({ ok: true, explanation: 'x' });
    expect(parseExplanation('{"explanation": "x"}', 'stop', { field: 'why' })).toMatchObject({ ok: false, reason: 'missing_field' });
    expect(parseExplanation(en, 'stop', { acceptProse: false })).toMatchObject({ ok: false, reason: 'unparseable' });
  });

  it('names what it found when the field is missing', () => {
    const r = parseExplanation('{"explication": "x", "label": "y"}', 'stop');
    expect(r.ok ? '' : r.detail).toBe('the JSON answer has no "explanation" field (it has "explication", "label")');
  });
});
