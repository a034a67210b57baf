import { measureText, type ExpectedScript } from '../quality/quality.js';

/**
 * The script a prompt asks the answer in: the language named by its "write ... in <language>"
 * instruction (the shipped Arabic prompt: "Write the explanation in Modern Standard Arabic"),
 * else the script most of the prompt's own letters are in. Null for a language of another script.
 */
export function promptScript(prompt: string): ExpectedScript | null {
  for (const clause of prompt.split(/[.;:\n]/)) {
    if (!/\b(?:write|answer|respond|reply)\b/i.test(clause) || /\b(?:not|never)\b|n't\b/i.test(clause)) continue;
    for (const m of clause.matchAll(/\b(?:in|into)\s+(?:modern\s+standard\s+)?([a-z]+)/gi)) {
      const script = LANGUAGE_SCRIPT[m[1]!.toLowerCase()];
      if (script !== undefined) return script;
    }
  }
  if (/الفصحى|باللغة العربية/.test(prompt)) return 'arabic';
  const m = measureText(prompt);
  if (m.arabic > m.latin + m.other) return 'arabic';
  return m.latin > m.other ? 'latin' : null;
}

/** `--language` values and the languages a prompt may name, by script (null: neither script). */
export const LANGUAGE_SCRIPT: Readonly<Record<string, ExpectedScript | null>> = {
  ar: 'arabic',
  arabic: 'arabic',
  en: 'latin',
  english: 'latin',
  fr: 'latin',
  french: 'latin',
  es: 'latin',
  spanish: 'latin',
  de: 'latin',
  german: 'latin',
  it: 'latin',
  italian: 'latin',
  pt: 'latin',
  portuguese: 'latin',
  nl: 'latin',
  dutch: 'latin',
  tr: 'latin',
  turkish: 'latin',
  id: 'latin',
  indonesian: 'latin',
  latin: 'latin',
  fa: 'arabic',
  persian: 'arabic',
  farsi: 'arabic',
  ur: 'arabic',
  urdu: 'arabic',
};
