/**
 * Field mapping: how a dataset's own fields become the row batch-explain works on (id, image,
 * label, text). Pure functions, no streams; validateRow applies them to each row.
 */
import { optionError } from '../../errors.js';

/** How an array of labels (several annotators, several classes) becomes one label. */
export type LabelVote = 'majority' | 'first' | 'join';
export const LABEL_VOTES: readonly LabelVote[] = ['majority', 'first', 'join'];

/** A dataset's field names, recorded in the job so later commands read the dataset the same way. */
export interface FieldMapping {
  /** Path of the id (dotted for nested values: `meta.id`). Default `id`. */
  idField?: string;
  /** Path of the image: a path, a URL, or embedded bytes (`{bytes, path}` or binary). Default `img_path`. */
  imageField?: string;
  /**
   * The image path built from the row instead of read from one field: `{id}` is the row's id,
   * `{name}` the value at path `name` (MMHS150K: `img_resized/{id}.jpg`). Wins over `imageField`.
   */
  imagePattern?: string;
  /** Path of the label. Default `class_label`. */
  labelField?: string;
  /** Paths tried in order for the text. Default `text`, then `extracted_text`. */
  textFields?: string[];
  /** Raw label (as text: `0`, `true`, `hateful`) → the label put in the prompt. A value not in it is a reject. */
  labelMap?: Record<string, string>;
  /** For labels that are arrays. Default `join` (the labels joined with ", ", each once). */
  labelVote?: LabelVote;
}

export const MAPPING_DEFAULTS = {
  idField: 'id',
  imageField: 'img_path',
  labelField: 'class_label',
  textFields: ['text', 'extracted_text'] as readonly string[],
  labelVote: 'join' as LabelVote,
};

/**
 * The value at `path` in `row`: the field of that exact name first (names may hold dots or
 * spaces: MAMI's `Text Transcription`), else the dotted path walked through nested objects.
 */
export function fieldAt(row: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(row, path)) return row[path];
  if (!path.includes('.')) return undefined;
  let value: unknown = row;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** A row's id through the mapping, by validateRow's rule (a non-empty string, or a safe integer as its text; else the record's key); null when it has none. */
export function mappedId(value: unknown, key: string | undefined, idField = MAPPING_DEFAULTS.idField): string | null {
  const raw = typeof value === 'object' && value !== null && !Array.isArray(value) ? (fieldAt(value as Record<string, unknown>, idField) ?? key) : undefined;
  if (typeof raw === 'string') return raw.trim() === '' ? null : raw;
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) return String(raw);
  return null;
}

/** Parses `0=not-hateful,1=hateful` (the CLI's `--label-map`); a JSON object's text is accepted too. */
export function parseLabelMap(text: string): Record<string, string> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      throw optionError('labelMap', text, `a JSON object (${(err as Error).message})`);
    }
    return checkLabelMap(parsed);
  }
  const map: Record<string, string> = {};
  for (const pair of trimmed.split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) throw optionError('labelMap', text, 'pairs raw=label separated by commas, e.g. 0=not-hateful,1=hateful');
    map[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return checkLabelMap(map);
}

/** A label map is an object of non-empty strings (numbers are turned into their text). */
export function checkLabelMap(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw optionError('labelMap', value, 'an object of raw label → label');
  const out: Record<string, string> = {};
  for (const [key, label] of Object.entries(value)) {
    const text = typeof label === 'number' || typeof label === 'boolean' ? String(label) : label;
    if (typeof text !== 'string' || text.trim() === '') throw optionError(`labelMap[${JSON.stringify(key)}]`, label, 'a non-empty string');
    out[key] = text;
  }
  return out;
}

/** Checks a mapping's fields (coded errors quoting the value), returning it with the defaults filled in. */
export function checkMapping(mapping: FieldMapping = {}): Required<Omit<FieldMapping, 'imagePattern' | 'labelMap'>> & FieldMapping {
  const m = { ...MAPPING_DEFAULTS, ...dropUndefined(mapping) };
  for (const key of ['idField', 'imageField', 'labelField'] as const) {
    if (typeof m[key] !== 'string' || m[key] === '') throw optionError(key, m[key], 'a field name');
  }
  if (!Array.isArray(m.textFields) || m.textFields.some((f) => typeof f !== 'string' || f === '')) throw optionError('textFields', m.textFields, 'an array of field names');
  if (!LABEL_VOTES.includes(m.labelVote)) throw optionError('labelVote', m.labelVote, `one of ${LABEL_VOTES.join(', ')}`);
  if (m.imagePattern !== undefined && (typeof m.imagePattern !== 'string' || !m.imagePattern.includes('{'))) {
    throw optionError('imagePattern', m.imagePattern, 'a path with {id} or {field} in it, e.g. img_resized/{id}.jpg');
  }
  if (m.labelMap !== undefined) m.labelMap = checkLabelMap(m.labelMap);
  return { ...m, textFields: [...m.textFields] };
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The outcome of turning a raw label into the prompt's label. */
export type LabelResult = { ok: true; label: string } | { ok: false; code: 'E_FIELD_TYPE' | 'E_EMPTY_FIELD' | 'E_LABEL_UNMAPPED'; message: string };

/**
 * A raw label → the prompt's label. Scalars (string, number, boolean) go through `labelMap` when
 * there is one; an array is voted (`majority`: the most frequent value, a tie going to the one
 * listed first; `first`; `join`: each distinct value once, in order, joined with ", ").
 */
export function mapLabel(raw: unknown, field: string, labelMap: Record<string, string> | undefined, vote: LabelVote): LabelResult {
  const values = Array.isArray(raw) ? raw : [raw];
  const labels: string[] = [];
  for (const value of values) {
    if (typeof value !== 'string' && typeof value !== 'boolean' && !(typeof value === 'number' && Number.isFinite(value))) {
      return { ok: false, code: 'E_FIELD_TYPE', message: `field "${field}" must be a string, a number or a boolean${Array.isArray(raw) ? '' : ', or an array of them'}; found ${describeValue(value)}` };
    }
    if (typeof value !== 'string' && !labelMap) {
      return { ok: false, code: 'E_FIELD_TYPE', message: `field "${field}" holds ${describeValue(value)}: a label that is not text needs --label-map (e.g. 0=not-hateful,1=hateful) or a --preset` };
    }
    const key = String(value).trim();
    if (key === '') continue;
    if (labelMap) {
      const mapped = Object.hasOwn(labelMap, key) ? labelMap[key] : undefined;
      if (mapped === undefined) {
        return { ok: false, code: 'E_LABEL_UNMAPPED', message: `field "${field}" holds ${JSON.stringify(key)}, which the label map (${Object.keys(labelMap).join(', ')}) does not name` };
      }
      labels.push(mapped);
    } else {
      labels.push(key);
    }
  }
  if (labels.length === 0) return { ok: false, code: 'E_EMPTY_FIELD', message: `field "${field}" is empty` };
  return { ok: true, label: vote === 'first' ? labels[0]! : vote === 'majority' ? majority(labels) : [...new Set(labels)].join(', ') };
}

/** The most frequent label; among equally frequent ones, the one listed first. */
export function majority(labels: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  let best = labels[0]!;
  for (const [label, n] of counts) if (n > counts.get(best)!) best = label;
  return best;
}

/** The image path a pattern gives for a row, or the name of the first field it lacks. */
export function imageFromPattern(pattern: string, row: Record<string, unknown>, id: string): { ok: true; path: string } | { ok: false; field: string } {
  let missing: string | null = null;
  const path = pattern.replace(/\{([^{}]+)\}/g, (_, name: string) => {
    if (name === 'id') return id;
    const v = fieldAt(row, name);
    if (typeof v === 'string' || typeof v === 'number') return String(v);
    missing ??= name;
    return '';
  });
  return missing === null ? { ok: true, path } : { ok: false, field: missing };
}

/** A short description of a value for messages (never its whole text). */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v === 'number' ? 'the number' : `the ${typeof v}`} ${String(v)}`;
}

/**
 * How a job reads its dataset, as recorded in its manifest (the `run` event's `mapping`): the
 * format and the fields, so merge, resubmit, report and view read it as the build did.
 */
export interface JobMapping extends FieldMapping {
  format: import('./formats.js').DatasetFormat;
}

/** The mapping to record for a job: undefined for JSONL with the default fields (older manifests' digests stay the same). */
export function jobMapping(format: import('./formats.js').DatasetFormat, mapping: FieldMapping = {}): JobMapping | undefined {
  const fields = Object.fromEntries(Object.entries(mapping).filter(([, v]) => v !== undefined)) as FieldMapping;
  const d = MAPPING_DEFAULTS;
  const isDefault =
    (fields.idField ?? d.idField) === d.idField &&
    (fields.imageField ?? d.imageField) === d.imageField &&
    (fields.labelField ?? d.labelField) === d.labelField &&
    fields.imagePattern === undefined &&
    fields.labelMap === undefined &&
    (fields.labelVote ?? d.labelVote) === d.labelVote &&
    JSON.stringify(fields.textFields ?? d.textFields) === JSON.stringify(d.textFields);
  return format === 'jsonl' && isDefault ? undefined : { format, ...fields };
}
