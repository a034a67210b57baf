import { RECLASSIFICATION_AR, RECLASSIFICATION_AR_HINT, RECLASSIFICATION_EN, contradictsLabel } from './reclassification.js';

/**
 * Quality checks of one explanation: pure functions, no I/O, no model. The stage
 * `stages/quality-check.ts` runs them over a merged file and adds the two checks that need more
 * than one row (`missing` takes its reason from the errors file, `duplicate_text` needs the
 * rows seen before).
 */

/** The flags, in the order reports list them. A row can carry several. */
export const FLAGS = ['missing', 'too_short', 'too_long', 'wrong_language', 'mentions_reclassification', 'not_plain_text', 'duplicate_text'] as const;
export type Flag = (typeof FLAGS)[number];

/** Each flag's bit in a row's flag mask. */
export const FLAG_BIT: Readonly<Record<Flag, number>> = Object.fromEntries(FLAGS.map((f, i) => [f, 1 << i])) as Record<Flag, number>;

/** The flags of a mask, in {@link FLAGS} order. */
export function flagNames(mask: number): Flag[] {
  return FLAGS.filter((f) => (mask & FLAG_BIT[f]) !== 0);
}

/** The script an explanation is expected in: the prompt's language (Arabic prompt → Arabic script). */
export type ExpectedScript = 'arabic' | 'latin';

export interface QualityOptions {
  /** Fewer words is `too_short`. Default 40: the shipped prompts ask for ~100. */
  minWords: number;
  /** More words is `too_long`. Default 160. */
  maxWords: number;
  /** Expected script, or null to skip `wrong_language` (no prompt or language given). */
  script: ExpectedScript | null;
}

export const QUALITY_DEFAULTS: QualityOptions = { minWords: 40, maxWords: 160, script: null };

/** What one pass over a text finds: its words and its letters by script. */
export interface TextMeasure {
  /** Runs of non-space characters holding at least one letter, digit or other symbol (punctuation alone is no word). */
  words: number;
  arabic: number;
  latin: number;
  /** Letters of other scripts (Greek, Cyrillic, Hebrew, CJK...). */
  other: number;
  /** Letters of right-to-left scripts (Arabic, Hebrew, Syriac, Thaana). */
  rtl: number;
}

const OTHER_LETTER = /\p{L}/u;

/** Arabic letters: the Arabic blocks without diacritics, digits and punctuation. */
function isArabicLetter(c: number): boolean {
  return (
    (c >= 0x0620 && c <= 0x064a) ||
    (c >= 0x066e && c <= 0x06d3) ||
    c === 0x06d5 ||
    (c >= 0x06fa && c <= 0x06ff) ||
    (c >= 0x0750 && c <= 0x077f) ||
    (c >= 0x08a0 && c <= 0x08ff) ||
    (c >= 0xfb50 && c <= 0xfdff) ||
    (c >= 0xfe70 && c <= 0xfefc)
  );
}

function isLatinLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0xc0 && c <= 0x24f && c !== 0xd7 && c !== 0xf7) || (c >= 0x1e00 && c <= 0x1eff);
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200b) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** Punctuation that does not make a word on its own: ASCII, general and Arabic punctuation. */
function isPunctuation(c: number): boolean {
  return (
    (c >= 0x21 && c <= 0x2f) ||
    (c >= 0x3a && c <= 0x40) ||
    (c >= 0x5b && c <= 0x60) ||
    (c >= 0x7b && c <= 0x7e) ||
    c === 0xab ||
    c === 0xbb ||
    (c >= 0x2010 && c <= 0x206f) ||
    c === 0x060c ||
    c === 0x061b ||
    c === 0x061f ||
    (c >= 0x066a && c <= 0x066d) ||
    c === 0x06d4 ||
    c === 0x0640
  );
}

/** Counts words and letters by script in one pass over the UTF-16 code units. */
export function measureText(text: string): TextMeasure {
  let words = 0;
  let arabic = 0;
  let latin = 0;
  let other = 0;
  let rtl = 0;
  let inToken = false;
  let counted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      inToken = false;
      continue;
    }
    if (!inToken) {
      inToken = true;
      counted = false;
    }
    if (!counted && !isPunctuation(c)) {
      counted = true;
      words++;
    }
    if (c < 0x80) {
      if (isLatinLetter(c)) latin++;
    } else if (isArabicLetter(c)) {
      arabic++;
      rtl++;
    } else if (isLatinLetter(c)) {
      latin++;
    } else if (c >= 0x0370 && c < 0xd800 && !(c >= 0x0600 && c <= 0x06ff) && OTHER_LETTER.test(String.fromCharCode(c))) {
      other++;
      // Hebrew, Syriac, Thaana, NKo: written right to left.
      if (c >= 0x0590 && c <= 0x07ff) rtl++;
    }
  }
  return { words, arabic, latin, other, rtl };
}

/** `rtl` when at least half the letters are of a right-to-left script (an Arabic text quoting "OpenAI" stays rtl). */
export function textDirection(text: string): 'rtl' | 'ltr' {
  const m = measureText(text);
  return m.rtl > 0 && m.rtl * 2 >= m.arabic + m.latin + m.other ? 'rtl' : 'ltr';
}

/**
 * True when fewer than half of the letters are in the expected script. A text without letters
 * is not judged (it is `too_short` anyway).
 */
export function isWrongScript(m: TextMeasure, script: ExpectedScript): boolean {
  const letters = m.arabic + m.latin + m.other;
  if (letters === 0) return false;
  return (script === 'arabic' ? m.arabic : m.latin) * 2 < letters;
}

/**
 * JSON or a code fence left in the explanation: a fence (```` ``` ```` or `~~~`), a text that is
 * a JSON object or array, one that starts with a JSON key (`"explanation": ...`), or a JSON
 * object key anywhere (`{"explanation":`).
 */
export function isNotPlainText(text: string): boolean {
  if (text.includes('```') || text.includes('~~~')) return true;
  const t = text.trim();
  if ((t.startsWith('{') && t.endsWith('}')) || (t.startsWith('[') && t.endsWith(']'))) return true;
  return /^"[^"\n]{1,64}"\s*:/.test(t) || /\{\s*"[^"\n]{1,64}"\s*:/.test(t);
}

/** Arabic letters folded into one form: diacritics, superscript alef and tatweel removed; hamza/madda alef → alef, alef maqsura → ya, ta marbuta → ha. */
const FOLD: Readonly<Record<string, string>> = { '\u0622': '\u0627', '\u0623': '\u0627', '\u0625': '\u0627', '\u0671': '\u0627', '\u0649': '\u064A', '\u0629': '\u0647' };
const ARABIC_FOLD = /[\u064B-\u065F\u0670\u0640\u0622\u0623\u0625\u0671\u0649\u0629]/g;
const fold = (c: string): string => FOLD[c] ?? '';

/**
 * Arabic letters in one form: diacritics (tashkeel), the superscript alef and tatweel removed;
 * alef with hamza or madda → alef, alef maqsura → ya, ta marbuta → ha. Used for phrase matching,
 * duplicates and search, so that "التصنيف خاطئ" and "التَّصنيفُ خاطِئٌ" are one text. One pass.
 */
export function normalizeArabic(text: string): string {
  return text.replace(ARABIC_FOLD, fold);
}

/** Whether the explanation questions or changes the human label (see `core/quality/reclassification.ts`). */
export function mentionsReclassification(text: string, label: string, m: TextMeasure): boolean {
  // The phrases match the text as it is (spaces, diacritics and letter forms tolerated).
  if (m.latin > 0 && (RECLASSIFICATION_EN.test(text) || contradictsLabel(text, label, 'en'))) return true;
  return m.arabic > 0 && ((RECLASSIFICATION_AR_HINT.test(text) && RECLASSIFICATION_AR.test(text)) || contradictsLabel(text, label, 'ar'));
}

/** One explanation's checks: its word count and the flags that need only this row. */
export interface ExplanationCheck {
  words: number;
  /** Mask of {@link FLAG_BIT}s among too_short, too_long, wrong_language, mentions_reclassification, not_plain_text. */
  flags: number;
}

/** Checks one explanation (not null: a missing one is flagged `missing` by the caller). */
export function checkExplanation(explanation: string, label: string, options: QualityOptions): ExplanationCheck {
  const m = measureText(explanation);
  let flags = 0;
  if (m.words < options.minWords) flags |= FLAG_BIT.too_short;
  if (m.words > options.maxWords) flags |= FLAG_BIT.too_long;
  if (options.script && isWrongScript(m, options.script)) flags |= FLAG_BIT.wrong_language;
  if (mentionsReclassification(explanation, label, m)) flags |= FLAG_BIT.mentions_reclassification;
  if (isNotPlainText(explanation)) flags |= FLAG_BIT.not_plain_text;
  return { words: m.words, flags };
}

/** Arabic marks dropped when comparing texts: tashkeel, superscript alef, tatweel. */
function isArabicMark(c: number): boolean {
  return (c >= 0x064b && c <= 0x065f) || c === 0x0670 || c === 0x0640;
}

/** Arabic letter forms compared as one (see normalizeArabic). */
function foldArabic(c: number): number {
  if (c === 0x0622 || c === 0x0623 || c === 0x0625 || c === 0x0671) return 0x0627;
  if (c === 0x0649) return 0x064a;
  if (c === 0x0629) return 0x0647;
  return c;
}

/**
 * The 52-bit hash two explanations are compared by for `duplicate_text`: case, runs of spaces,
 * spaces at the ends and Arabic diacritics and letter forms ignored (the text is folded and
 * lower-cased while it is hashed, in one pass, no copy). Two 32-bit multiplicative hashes,
 * mixed: a safe integer.
 */
export function duplicateHash(s: string): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  let space = false;
  let started = false;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (isSpace(c)) {
      space = started;
      continue;
    }
    if (isArabicMark(c)) continue;
    c = c >= 0x41 && c <= 0x5a ? c + 32 : c < 0xc0 || c >= 0x0600 ? foldArabic(c) : lowerOther(c);
    if (space) {
      h1 = Math.imul(h1 ^ 0x20, 0x01000193);
      h2 = Math.imul(h2 ^ 0x20, 0x5bd1e995);
      space = false;
      n++;
    }
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    started = true;
    n++;
  }
  return mixHashes(h1, h2 ^ n);
}

/** Lower case of a letter between U+00C0 and U+05FF (Latin, Greek, Cyrillic...): rare in these texts, so no table. */
function lowerOther(c: number): number {
  return String.fromCharCode(c).toLowerCase().charCodeAt(0);
}

function mixHashes(h1: number, h2: number): number {
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b) ^ Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b) ^ Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35);
  return (h2 & 0xfffff) * 0x100000000 + (h1 >>> 0);
}
