import { optionError } from '../errors.js';
import { nonEmptyString } from '../core/options.js';
import type { DatasetRow, JsonlRecord, OnReject, Reject, Stage } from '../types.js';

export interface ValidateRowOptions {
  onReject: OnReject;
  /** Dataset name for rejects. */
  file?: string;
  /** Default `id`. */
  idField?: string;
  /** Default `img_path`. */
  imageField?: string;
  /** Default `class_label`. */
  labelField?: string;
  /** Fields tried in order for the meme's text. Default `text`, then `extracted_text` (as the original scripts). */
  textFields?: readonly string[];
  /** Set false for text-only datasets: `img_path` is then optional. Default true. */
  requireImage?: boolean;
}

const DEFAULTS = {
  idField: 'id',
  imageField: 'img_path',
  labelField: 'class_label',
  textFields: ['text', 'extracted_text'] as readonly string[],
  requireImage: true,
};

type Check = { ok: true; row: DatasetRow } | { ok: false; reject: Omit<Reject, 'line' | 'stage'> };

/**
 * Pure check of one parsed line: the required fields are present and typed.
 * `id` may be a string or a safe integer (turned into its string); `class_label` a string or an
 * array of strings (joined with ", "); `text` a string, a number, or null/absent.
 */
export function checkRow(record: JsonlRecord, options: ValidateRowOptions): Check {
  const o = { ...DEFAULTS, ...options };
  const v = record.value;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    return fail('E_NOT_OBJECT', `expected a JSON object, got ${kind(v)}`);
  }
  const row = v as Record<string, unknown>;

  const rawId = row[o.idField];
  let id: string;
  if (rawId === undefined || rawId === null) return fail('E_MISSING_FIELD', `field "${o.idField}" is missing`);
  if (typeof rawId === 'number') {
    if (!Number.isSafeInteger(rawId)) {
      return fail('E_FIELD_TYPE', `field "${o.idField}" is the number ${rawId}, which JSON parsers cannot keep exact; write it as a string`);
    }
    id = String(rawId);
  } else if (typeof rawId === 'string') {
    id = rawId;
  } else {
    return fail('E_FIELD_TYPE', `field "${o.idField}" must be a string or an integer, got ${kind(rawId)}`);
  }
  if (id.trim() === '') return fail('E_EMPTY_FIELD', `field "${o.idField}" is empty`);

  const rawImage = row[o.imageField];
  let imgPath = '';
  if (rawImage === undefined || rawImage === null) {
    if (o.requireImage) return fail('E_MISSING_FIELD', `field "${o.imageField}" is missing`, id);
  } else if (typeof rawImage !== 'string') {
    return fail('E_FIELD_TYPE', `field "${o.imageField}" must be a string, got ${kind(rawImage)}`, id);
  } else if (rawImage.trim() === '') {
    return fail('E_EMPTY_FIELD', `field "${o.imageField}" is empty`, id);
  } else {
    imgPath = rawImage;
  }

  const rawLabel = row[o.labelField];
  let label: string;
  if (rawLabel === undefined || rawLabel === null) return fail('E_MISSING_FIELD', `field "${o.labelField}" is missing`, id);
  if (typeof rawLabel === 'string') {
    label = rawLabel;
  } else if (Array.isArray(rawLabel)) {
    const bad = rawLabel.find((x) => typeof x !== 'string');
    if (bad !== undefined) return fail('E_FIELD_TYPE', `field "${o.labelField}" must hold only strings, found ${kind(bad)}`, id);
    label = (rawLabel as string[]).map((s) => s.trim()).filter((s) => s !== '').join(', ');
  } else {
    return fail('E_FIELD_TYPE', `field "${o.labelField}" must be a string or an array of strings, got ${kind(rawLabel)}`, id);
  }
  if (label.trim() === '') return fail('E_EMPTY_FIELD', `field "${o.labelField}" is empty`, id);

  let text: string | undefined;
  for (const field of o.textFields) {
    const t = row[field];
    if (t === undefined || t === null) continue;
    if (typeof t === 'string') text = t;
    else if (typeof t === 'number' && Number.isFinite(t)) text = String(t);
    else return fail('E_FIELD_TYPE', `field "${field}" must be a string, got ${kind(t)}`, id);
    break;
  }

  const out: DatasetRow = { line: record.line, id, imgPath, label };
  if (text !== undefined) out.text = text;
  return { ok: true, row: out };
}

function fail(code: Reject['code'], message: string, id?: string): Check {
  return { ok: false, reject: id === undefined ? { code, message } : { id, code, message } };
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v === 'number' ? 'the number' : `the ${typeof v}`} ${String(v)}`;
}

/**
 * Stage: parsed JSONL records → {@link DatasetRow}s. A row with a missing, empty or wrong-typed
 * required field goes to `onReject` naming the field. Holds one row at a time.
 */
export function validateRow(options: ValidateRowOptions): Stage<JsonlRecord, DatasetRow> {
  if (typeof options?.onReject !== 'function') throw optionError('onReject', options?.onReject, 'a function');
  const o = { ...DEFAULTS, ...options };
  for (const key of ['idField', 'imageField', 'labelField'] as const) nonEmptyString(key, o[key]);
  if (!Array.isArray(o.textFields)) throw optionError('textFields', o.textFields, 'an array of field names');
  return async function* validateRowStage(source) {
    for await (const record of source) {
      const result = checkRow(record, o);
      if (result.ok) yield result.row;
      else await o.onReject({ ...(o.file === undefined ? {} : { file: o.file }), line: record.line, stage: 'validateRow', ...result.reject });
    }
  };
}
