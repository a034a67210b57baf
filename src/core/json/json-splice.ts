/**
 * Adds or replaces one top-level field of a JSON object given as text, leaving every other byte
 * as it was: field order, spacing, number spellings and non-ASCII characters are the dataset's
 * own. (Parsing and serialising again would turn `1.0` into `1` and may reorder nothing but still
 * rewrite the user's file.) The text must be one valid JSON object.
 */
export function setTopLevelField(objectText: string, field: string, valueJson: string): string {
  const span = topLevelValueSpan(objectText, field);
  if (span) return objectText.slice(0, span.start) + valueJson + objectText.slice(span.end);
  const close = objectText.lastIndexOf('}');
  if (close === -1) throw new Error('not a JSON object');
  const empty = /^\{\s*$/.test(objectText.slice(objectText.indexOf('{'), close));
  // Follow the line's own style: Python's json.dumps writes `, ` and `: `; compact JSON neither.
  const spaced = /":\s/.test(objectText);
  const body = objectText.slice(0, close).replace(/\s+$/, '');
  return `${body}${empty ? '' : spaced ? ', ' : ','}${JSON.stringify(field)}${spaced ? ': ' : ':'}${valueJson}${objectText.slice(body.length)}`;
}

/** Where the value of `field` is, if the object has it at its top level. */
export function topLevelValueSpan(text: string, field: string): { start: number; end: number } | null {
  // Fast path: most rows do not mention the field at all.
  if (!text.includes(field)) return null;
  let depth = 0;
  let i = text.indexOf('{');
  if (i === -1) return null;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      if (depth === 1) {
        // A key at depth 1 is followed by a colon.
        let j = end + 1;
        while (j < text.length && /\s/.test(text[j]!)) j++;
        if (text[j] === ':' && JSON.parse(text.slice(i, end + 1)) === field) {
          j++;
          while (j < text.length && /\s/.test(text[j]!)) j++;
          return { start: j, end: valueEnd(text, j) };
        }
      }
      i = end;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return null;
}

function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  throw new Error('unterminated string');
}

/** End (exclusive) of the JSON value starting at `start`. */
function valueEnd(text: string, start: number): number {
  const c = text[start];
  if (c === '"') return stringEnd(text, start) + 1;
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let i = start; i < text.length; i++) {
      const d = text[i];
      if (d === '"') i = stringEnd(text, i);
      else if (d === '{' || d === '[') depth++;
      else if ((d === '}' || d === ']') && --depth === 0) return i + 1;
    }
    throw new Error('unterminated value');
  }
  let i = start;
  while (i < text.length && !/[,}\]\s]/.test(text[i]!)) i++;
  return i;
}
