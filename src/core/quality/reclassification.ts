/**
 * The phrases that make an explanation `mentions_reclassification`: it questions or changes the
 * human label instead of explaining it (the shipped prompts forbid it). A small list, kept here
 * and in docs/report-and-view.md; each entry is a regular expression, written with single spaces and (Arabic)
 * in the folded form of `normalizeArabic` (no diacritics, bare alef, ي for ى, ه for ة), and
 * matched case-insensitively on the explanation as it is: {@link tolerant} turns each space into
 * `\s+` and each Arabic letter into the class of its forms followed by any diacritics, so no
 * folded copy of the text is made (making one cost more than all the checks together).
 *
 * Phrases that only affirm a negative label ("this meme is not propaganda" under
 * `not-propaganda`) must not match: a negation of the label itself is checked only against
 * positive labels, by {@link contradictsLabel}.
 */

/** English. */
export const RECLASSIFICATION_PHRASES_EN: readonly string[] = [
  String.raw`\bmis-?(?:labell?ed|classified|categori[sz]ed)\b`,
  String.raw`\bmis-?classification\b`,
  String.raw`\bre-?(?:classif(?:y|ied|ying|ication)|label(?:l?ed|l?ing)?|categori[sz](?:e|ed|ing))\b`,
  String.raw`\b(?:the|this|its|that) (?:human |given |assigned |original |provided )?(?:label|classification) (?:is|seems|appears|looks|may be|might be|could be) (?:to be )?(?:wrong|incorrect|inaccurate|mistaken|questionable|debatable|misleading|not (?:accurate|correct|appropriate|justified|warranted))`,
  String.raw`\b(?:i|we) (?:would )?(?:respectfully )?(?:disagree|do not agree|don't agree) with (?:the|this) (?:label|classification|labell?ing)`,
  String.raw`\b(?:should|would) (?:rather |instead |more accurately |more appropriately )?be (?:classified|labell?ed|categori[sz]ed|considered) (?:as )?(?:not|non|something other|instead)`,
  String.raw`\b(?:should|would) (?:rather|instead|more accurately|more appropriately) be (?:classified|labell?ed|categori[sz]ed)`,
  String.raw`\b(?:more accurately|better|more appropriately) (?:described|classified|labell?ed|categori[sz]ed) as\b`,
  String.raw`\b(?:a |the )?(?:more (?:appropriate|accurate|fitting)|better|correct) (?:label|classification) (?:would be|might be)\b`,
  String.raw`\b(?:despite|contrary to|regardless of|notwithstanding) (?:the|its|this) (?:label|classification|labell?ing)\b`,
  String.raw`\b(?:debatable|questionable|unclear|doubtful) (?:whether|if) (?:this|it|the meme)\b`,
  String.raw`\b(?:i|we) (?:cannot|can't|can not) (?:agree with|confirm|support) (?:the|this) (?:label|classification)`,
];

/** Arabic (after `normalizeArabic`). */
export const RECLASSIFICATION_PHRASES_AR: readonly string[] = [
  // "the classification is wrong / inaccurate / not correct / questionable"
  String.raw`(?:ال)?تصنيف(?:ه|ها)? (?:خاطي|خاطئ|خطا|غير صحيح|غير دقيق|غير مناسب|مشكوك فيه|قابل للنقاش|محل جدل|في غير محله)`,
  // "misclassified", "classified by mistake"
  String.raw`(?:صنف|يصنف|تصنيفه|تصنيفها) (?:خطا|بالخطا|عن طريق الخطا)`,
  // "I do not agree with the classification / label"
  String.raw`لا (?:اتفق|نتفق) مع (?:ال)?(?:تصنيف|تسميه|وسم)`,
  // "re-classification"
  String.raw`اعاده (?:ال)?تصنيف`,
  // "it should / it would be more accurate to classify it as"
  String.raw`(?:كان )?(?:ينبغي|يجب|الاجدر|الاصح|الادق|الافضل|من الاصح|من الادق) (?:ان )?(?:يصنف|تصنيفه|تصنيفها|اعتباره|اعتبارها)`,
  // "despite / contrary to the classification"
  String.raw`(?:(?:رغم|علي الرغم من|بالرغم من) |خلافا لل?)(?:ال)?(?:تصنيف|تصنيفه|تصنيفها)`,
];

/** Arabic letters folded together by `normalizeArabic`, and the marks it drops. */
const LETTER_FORMS: Readonly<Record<string, string>> = { 'ا': '[اأإآٱ]', 'ي': '[يى]', 'ه': '[هة]' };
const MARKS = '[\\u064B-\\u065F\\u0670\\u0640]*';

/**
 * A phrase's regular expression made to match the unfolded text: outside character classes and
 * escapes, a space becomes `\s+` and an Arabic letter the class of its forms followed by any
 * diacritics or tatweel.
 */
export function tolerant(source: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      out += c + (source[++i] ?? '');
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
    } else if (c === '[') {
      inClass = true;
      out += c;
    } else if (c === ' ') {
      out += '\\s+';
    } else if (c >= '\u0621' && c <= '\u064A') {
      out += (LETTER_FORMS[c] ?? c) + MARKS;
    } else {
      out += c;
    }
  }
  return out;
}

export const RECLASSIFICATION_EN = new RegExp(tolerant(RECLASSIFICATION_PHRASES_EN.join('|')), 'i');
export const RECLASSIFICATION_AR = new RegExp(tolerant(RECLASSIFICATION_PHRASES_AR.join('|')));
/**
 * Letters every Arabic phrase holds (تصنيف، يصنف، اتفق، اعتباره): a text without any of them is
 * not tested against the whole list (five times cheaper on Arabic text). Keep it true of new phrases.
 */
export const RECLASSIFICATION_AR_HINT = new RegExp(tolerant('صن|تفق|عتب'));

/**
 * Words for the shipped datasets' positive labels in Arabic explanations (after normalizeArabic):
 * an Arabic answer names "propaganda" as دعايه, not as the English label.
 */
const ARABIC_TERMS: Readonly<Record<string, string>> = {
  propaganda: '(?:دعايه|دعائي|دعائيا|دعائيه|بروباغندا|بروبجندا)',
  hateful: '(?:كراهيه|يحض علي الكراهيه|بغيض)',
  hate: '(?:كراهيه)',
};

const NEGATIVE_LABEL = /^(?:not|non|no)[-_ ]/i;
const cache = new Map<string, RegExp | null>();

/**
 * True when the explanation says the (positive) label does not hold: under `propaganda`, "this
 * meme is not propaganda", "doesn't really seem to be propaganda", "ليس دعايه". Negative labels
 * (`not-propaganda`, `not-hateful`, `non-...`) are never checked here: their explanations say
 * exactly that. A label of several parts ("propaganda, loaded language") is checked part by part.
 */
export function contradictsLabel(text: string, label: string, language: 'en' | 'ar'): boolean {
  const key = `${language}\u0000${label}`;
  let re = cache.get(key);
  if (re === undefined) {
    re = contradictionPattern(label, language);
    if (cache.size > 1000) cache.clear();
    cache.set(key, re);
  }
  return re !== null && re.test(text);
}

function contradictionPattern(label: string, language: 'en' | 'ar'): RegExp | null {
  const parts = label
    .split(/\s*,\s*/)
    .map((p) => p.trim())
    .filter((p) => p !== '' && !NEGATIVE_LABEL.test(p));
  if (parts.length === 0) return null;
  if (language === 'en') {
    const names = parts.map((p) => p.replace(/[-_]+/g, ' ').replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ /g, '[-_ ]')).join('|');
    return new RegExp(
      tolerant(String.raw`\b(?:is|are|was|were|be|being)(?: not|n't)(?: really| actually| truly| necessarily| clearly| in fact)? (?:an? )?(?:form of |example of |instance of )?(?:${names})\b` +
        String.raw`|\b(?:does not|doesn't|do not|don't|did not|didn't)(?: really| actually)? (?:seem|appear|look|qualify|count|constitute) (?:to be |as )?(?:an? )?(?:${names})\b` +
        String.raw`|\bnot (?:really|actually|truly) (?:an? )?(?:${names})\b`),
      'i',
    );
  }
  const terms = parts.map((p) => ARABIC_TERMS[p.toLowerCase()]).filter((t): t is string => t !== undefined);
  if (terms.length === 0) return null;
  return new RegExp(tolerant(String.raw`(?:ليس|ليست|لا يعد|لا تعد|لا يعتبر|لا تعتبر|لا يمثل|لا تمثل|لا يشكل|لا تشكل)(?: في الحقيقه| فعلا| حقا)? (?:نوعا من )?(?:ال)?(?:${terms.join('|')})(?![\u0621-\u064A])(?! فقط| وحسب)`));
}
