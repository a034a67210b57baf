/**
 * The hint given when rows lack a required field: which fields the rows do have, and the preset
 * or flags that would map them. Pure; used by validateRow's rejects and by a run that made no request.
 */
import { presetsMatching } from './presets.js';

export type FieldRole = 'id' | 'image' | 'label' | 'text';

export interface MissingField {
  role: FieldRole;
  /** The field looked for (as configured: `img_path`, or a mapped name). */
  field: string;
}

const FLAG: Record<FieldRole, string> = { id: '--id-field', image: '--image-field', label: '--label-field', text: '--text-field' };

/** Names that usually hold each role in published datasets, most likely first (compared case-blind). */
const USUAL_NAMES: Record<FieldRole, readonly string[]> = {
  id: ['id', 'image_id', 'img_id', 'tweet_id', 'meme_id', 'file_name', 'image_name', 'filename', 'name'],
  image: ['img_path', 'img', 'image', 'image_path', 'file_name', 'image_name', 'filename', 'path', 'image_url', 'img_url', 'url'],
  label: ['class_label', 'label', 'labels', 'class', 'category', 'target', 'hateful', 'misogynous', 'offensive', 'overall_sentiment'],
  text: ['text', 'extracted_text', 'text_corrected', 'text_ocr', 'tweet_text', 'Text Transcription', 'caption', 'ocr', 'transcription'],
};

const SHOWN_FIELDS = 12;

/**
 * `no "img_path"; rows have id, img, label, text: try --preset hateful-memes or --image-field img --label-field label`.
 * `fieldsSeen`: the top-level field names of a row; `missing`: every required field it lacks.
 */
export function missingFieldHint(fieldsSeen: readonly string[], missing: readonly MissingField[]): string {
  return `no ${missing.map((m) => JSON.stringify(m.field)).join(', ')}; ${fieldsHint(fieldsSeen, missing)}`;
}

/** The second half of {@link missingFieldHint}: `rows have id, img, label, text: try …`. */
export function fieldsHint(fieldsSeen: readonly string[], missing: readonly MissingField[]): string {
  const shown = fieldsSeen.slice(0, SHOWN_FIELDS).map(printable).join(', ') + (fieldsSeen.length > SHOWN_FIELDS ? `, … (${fieldsSeen.length} fields)` : '');
  const head = fieldsSeen.length === 0 ? 'rows have no fields' : `rows have ${shown}`;
  const tries: string[] = presetsMatching(fieldsSeen).map((p) => `--preset ${p.name}`);
  const flags: string[] = [];
  const used = new Set(missing.map((m) => m.field));
  for (const m of missing) {
    const lower = new Map(fieldsSeen.map((f) => [f.toLowerCase(), f]));
    const guess = USUAL_NAMES[m.role].map((n) => lower.get(n.toLowerCase())).find((f) => f !== undefined && !used.has(f));
    if (guess !== undefined) {
      used.add(guess);
      flags.push(`${FLAG[m.role]} ${shellWord(guess)}`);
    }
  }
  if (flags.length > 0) tries.push(flags.join(' '));
  if (tries.length === 0) return `${head}: name them with ${missing.map((m) => FLAG[m.role]).join(', ')} (or see --preset)`;
  return `${head}: try ${tries.join(' or ')}`;
}

/** A field name as shown: plain when tame, else JSON-quoted with C0/C1 controls and DEL escaped (never raw to a terminal). */
export function printable(name: string): string {
  if (/^[\p{L}\p{N}_ .:/-]{1,64}$/u.test(name)) return name;
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function shellWord(name: string): string {
  return /^[\w.:/-]+$/.test(name) ? name : `'${printable(name).replace(/'/g, "'\\''")}'`;
}
