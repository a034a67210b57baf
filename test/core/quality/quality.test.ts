import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  FLAGS,
  FLAG_BIT,
  checkExplanation,
  duplicateHash,
  flagNames,
  measureText,
  normalizeArabic,
  textDirection,
  type ExpectedScript,
  type Flag,
} from '../../../src/core/quality/quality.js';
import { promptScript } from '../../../src/core/requests/prompt-language.js';
import { RECLASSIFICATION_AR_HINT, RECLASSIFICATION_PHRASES_AR, RECLASSIFICATION_PHRASES_EN } from '../../../src/core/quality/reclassification.js';

// Neutral sentences that bring a short example to a normal length without adding a flag.
const FILL_EN = 'The image and the caption work together to carry the meaning of the meme for the viewer who sees it. ';
const FILL_AR = 'وتعمل الصورة والنص معاً على إيصال معنى الميم إلى المشاهد الذي يراه في سياقه. ';
const fill = (text: string, sentence: string, times = 4) => `${text} ${sentence.repeat(times)}`.trim();
const en = (text: string) => fill(text, FILL_EN);
const ar = (text: string) => fill(text, FILL_AR, 5);

type Example = { text: string; label?: string; script?: ExpectedScript | null; flags: Flag[]; why: string };

const EXAMPLES: Example[] = [
  // English, expected in Latin script.
  { why: 'a normal English explanation', text: en('The meme waves the flag and ridicules critics as traitors, a classic appeal to emotion.'), flags: [] },
  { why: 'too short', text: 'It is propaganda.', flags: ['too_short'] },
  { why: 'too long', text: FILL_EN.repeat(9), flags: ['too_long'] },
  { why: 'Arabic where English was asked', text: ar('يستخدم الميم العلم لإثارة المشاعر الوطنية.'), script: 'latin', flags: ['wrong_language'] },
  { why: 'mislabelled', text: en('This meme was clearly mislabeled by the annotator.'), flags: ['mentions_reclassification'] },
  { why: 'misclassification', text: en('The misclassification is obvious from the caption.'), flags: ['mentions_reclassification'] },
  { why: 'reclassify', text: en('The annotators should reclassify it.'), flags: ['mentions_reclassification'] },
  { why: 'should be classified as something else', text: en('It should be classified as non-political.'), flags: ['mentions_reclassification'] },
  { why: 'more accurately described', text: en('It is more accurately described as satire.'), flags: ['mentions_reclassification'] },
  { why: 'debatable', text: en('It is debatable whether this is propaganda.'), flags: ['mentions_reclassification'] },
  { why: 'cannot support the label', text: en('We cannot support this classification.'), flags: ['mentions_reclassification'] },
  { why: 'label questioned', text: en('The given label seems wrong: the meme is satire.'), flags: ['mentions_reclassification'] },
  { why: 'another label proposed', text: en('It should rather be classified as satire than as propaganda.'), flags: ['mentions_reclassification'] },
  { why: 'disagreement', text: en('I would respectfully disagree with the label here.'), flags: ['mentions_reclassification'] },
  { why: 'a phrase across a line break and double spaces', text: en('I would respectfully\n disagree  with the\tlabel here.'), flags: ['mentions_reclassification'] },
  { why: 'despite the label', text: en('Despite the label, the meme reads as a joke.'), flags: ['mentions_reclassification'] },
  { why: 'a better label', text: en('A more accurate label would be satire.'), flags: ['mentions_reclassification'] },
  { why: 'the positive label denied', text: en('This meme is not really propaganda; it is a joke.'), label: 'propaganda', flags: ['mentions_reclassification'] },
  { why: 'the positive label denied (hateful)', text: en("The meme doesn't seem to be hateful at all."), label: 'hateful', flags: ['mentions_reclassification'] },
  { why: 'one part of a multi-label denied', text: en('The caption is not actually loaded language.'), label: 'propaganda, loaded language', flags: ['mentions_reclassification'] },
  { why: 'a negative label explained (no flag)', text: en('This meme is not propaganda: it is a personal joke about mornings.'), label: 'not-propaganda', flags: [] },
  { why: 'a positive label affirmed (no flag)', text: en('It is propaganda because it is not only a joke but a call to rally.'), label: 'propaganda', flags: [] },
  { why: 'JSON left in', text: en('{"explanation": "The meme waves the flag."}'), flags: ['not_plain_text'] },
  { why: 'a whole JSON object', text: `{"explanation": "${FILL_EN.repeat(4).trim()}"}`, flags: ['not_plain_text'] },
  { why: 'a code fence', text: en('```json\nThe meme waves the flag.\n```'), flags: ['not_plain_text'] },
  { why: 'a JSON key at the start', text: `"explanation": "${FILL_EN.repeat(4).trim()}"`, flags: ['not_plain_text'] },
  { why: 'braces in prose (no flag)', text: en('The template marks the label with {} and nothing else.'), flags: [] },
  { why: 'several flags at once', text: '```{"explanation": "mislabeled"}```', flags: ['too_short', 'mentions_reclassification', 'not_plain_text'] },
  // Arabic, expected in Arabic script.
  { why: 'a normal Arabic explanation', text: ar('يستخدم الميم العلم والشعار لإثارة مشاعر الانتماء، وهو أسلوب التلويح بالعلم.'), script: 'arabic', flags: [] },
  { why: 'Arabic quoting Latin names (no flag)', text: ar('نشر الميم على Facebook وInstagram وفيه شعار OpenAI.'), script: 'arabic', flags: [] },
  { why: 'English where Arabic was asked', text: en('The meme waves the flag.'), script: 'arabic', flags: ['wrong_language'] },
  { why: 'too short (Arabic)', text: 'منشور إخباري عادي.', script: 'arabic', flags: ['too_short'] },
  { why: 'classification wrong', text: ar('التصنيف غير دقيق لأن الميم ساخر.'), script: 'arabic', flags: ['mentions_reclassification'] },
  { why: 'classification wrong, across a line break, with tatweel and hamza forms', text: ar('إنّ التصنيـــف\nغيرُ دقيقٍ هنا، كما أن التسمية في غير محلّها.'), script: 'arabic', flags: ['mentions_reclassification'] },
  { why: 'classification wrong, with diacritics', text: ar('التَّصنيفُ خاطِئٌ في رأيي.'), script: 'arabic', flags: ['mentions_reclassification'] },
  { why: 'misclassified (Arabic)', text: ar('يبدو أن الميم صُنّف خطأً.'), script: 'arabic', flags: ['mentions_reclassification'] },
  { why: 'disagreement (Arabic)', text: ar('لا أتفق مع التصنيف المعطى لهذا الميم.'), script: 'arabic', flags: ['mentions_reclassification'] },
  { why: 're-classification (Arabic)', text: ar('يحتاج الميم إلى إعادة تصنيف.'), script: 'arabic', flags: ['mentions_reclassification'] },
  { why: 'it should have been classified (Arabic)', text: ar('كان ينبغي تصنيفه نقداً اجتماعياً.'), script: 'arabic', flags: ['mentions_reclassification'] },
  { why: 'despite its classification (Arabic)', text: ar('على الرغم من تصنيفه فإنه نكتة.'), script: 'arabic', flags: ['mentions_reclassification'] },
  { why: 'the positive label denied (Arabic)', text: ar('هذا الميم ليس دعاية في الحقيقة بل شكوى.'), label: 'propaganda', script: 'arabic', flags: ['mentions_reclassification'] },
  { why: 'a negative label explained (Arabic, no flag)', text: ar('هذا الميم ليس دعاية بل فكاهة شخصية.'), label: 'not-propaganda', script: 'arabic', flags: [] },
  { why: '"not only propaganda" (Arabic, no flag)', text: ar('الميم ليس دعائيا فقط بل ساخر أيضاً.'), label: 'propaganda', script: 'arabic', flags: [] },
  { why: 'the label affirmed (Arabic, no flag)', text: ar('يصنف هذا الميم دعاية لأنه يمجد القائد.'), label: 'propaganda', script: 'arabic', flags: [] },
  { why: 'JSON left in (Arabic)', text: `{"explanation": "${FILL_AR.repeat(5).trim()}"}`, script: 'arabic', flags: ['not_plain_text'] },
];

describe('quality checks: the table', () => {
  it.each(EXAMPLES)('$why', ({ text, label, script, flags }) => {
    const got = checkExplanation(text, label ?? 'propaganda', { minWords: 40, maxWords: 160, script: script === undefined ? 'latin' : script });
    expect(flagNames(got.flags)).toEqual(FLAGS.filter((f) => flags.includes(f)));
  });

  it('every phrase of the documented lists is exercised by the table', () => {
    // Each regular expression must be matched by at least one example (so none is dead or broken).
    const texts = EXAMPLES.map((e) => e.text.replace(/\s+/g, ' '));
    for (const phrase of RECLASSIFICATION_PHRASES_EN) expect(texts.some((t) => new RegExp(phrase, 'i').test(t)), phrase).toBe(true);
    for (const phrase of RECLASSIFICATION_PHRASES_AR) {
      expect(texts.some((t) => new RegExp(phrase).test(normalizeArabic(t))), phrase).toBe(true);
      expect(normalizeArabic(phrase), 'Arabic phrases are written in normalised form').toBe(phrase);
      expect(RECLASSIFICATION_AR_HINT.test(phrase.replace(/\(\?:?|\)\??|\?/g, '')), 'every Arabic phrase holds a letter sequence of the hint').toBe(true);
    }
  });
});

describe('quality checks: words, scripts, direction', () => {
  it.each([
    ['mislabeled and misclassified', 3],
    ['مصر أولاً — تحيا مصر 🇪🇬', 5],
    ['نتائج الامتحان: ٩٠٪ نجاح', 4],
    ["don't stop-believing", 2],
    ['— … !! ،', 0],
    ['  spaced\n\tout\u00a0words ', 3],
    ['', 0],
  ])('%j has %i words', (text, words) => {
    expect(measureText(text).words).toBe(words);
  });

  it('counts letters by script', () => {
    expect(measureText('abc مصر Ωλ')).toMatchObject({ latin: 3, arabic: 3, other: 2 });
    expect(measureText('٩٠٪ 123')).toMatchObject({ latin: 0, arabic: 0, other: 0 });
  });

  it('writes Arabic and Hebrew right to left, even with Latin names inside', () => {
    expect(textDirection('نشر هذا الميم على Facebook في ٢٠٢٠')).toBe('rtl');
    expect(textDirection('مصرنا Egypt')).toBe('rtl'); // a tie goes right to left
    expect(textDirection('שלום עולם')).toBe('rtl');
    expect(textDirection('when you finally understand the group chat')).toBe('ltr');
    expect(textDirection('OpenAI ChatGPT مصر')).toBe('ltr');
  });

  it('normalises Arabic letter forms and diacritics', () => {
    expect(normalizeArabic('أإآٱ ى ة ـ مِصْرُ')).toBe('اااا ي ه  مصر');
  });
});

describe('quality checks: duplicates and prompts', () => {
  it('compares texts ignoring case, spacing and diacritics', () => {
    expect(duplicateHash('  The MEME\n waves ')).toBe(duplicateHash('the meme waves'));
    expect(duplicateHash('يستخدمُ الميمُ  صورةَ')).toBe(duplicateHash('يستخدم الميم صورة'));
    expect(duplicateHash('أولاً مصر')).toBe(duplicateHash('اولا مصر'));
    expect(duplicateHash('ÉCOLE Ωmega')).toBe(duplicateHash('école ωmega'));
    expect(duplicateHash('the meme waves')).not.toBe(duplicateHash('the memewaves'));
    expect(duplicateHash('a b')).not.toBe(duplicateHash('ab '));
    expect(duplicateHash('a')).not.toBe(duplicateHash('b'));
    expect(Number.isSafeInteger(duplicateHash('x'.repeat(1000)))).toBe(true);
  });

  it("reads a prompt's language: the shipped prompts, a negated instruction, an Arabic prompt", () => {
    const shipped = (name: string) => readFileSync(new URL(`../../../prompts/${name}.txt`, import.meta.url), 'utf8');
    expect(promptScript(shipped('armeme_explanation_arabic'))).toBe('arabic');
    expect(promptScript(shipped('armeme_explanation_english'))).toBe('latin');
    expect(promptScript(shipped('hateful_memes_explanation'))).toBe('latin');
    expect(promptScript('Do not write in English. Write the answer in Arabic.')).toBe('arabic');
    expect(promptScript('اشرح سبب التصنيف {} في مئة كلمة')).toBe('arabic');
    expect(promptScript('Explain why this meme is {}.')).toBe('latin');
    expect(promptScript('Объясни, почему {}')).toBeNull();
  });

  it('flag bits are distinct and fit a byte', () => {
    const bits = FLAGS.map((f) => FLAG_BIT[f]);
    expect(new Set(bits).size).toBe(FLAGS.length);
    expect(Math.max(...bits)).toBeLessThan(128);
  });
});
