import { optionError } from '../errors.js';
import { checkMapping, describeValue as kind, fieldAt, imageFromPattern, mapLabel, MAPPING_DEFAULTS, type FieldMapping } from '../core/dataset/mapping.js';
import { fieldsHint, type MissingField } from '../core/dataset/field-hint.js';
import type { DatasetRow, JsonlRecord, OnReject, Reject, Stage } from '../types.js';

export interface ValidateRowOptions extends FieldMapping {
  onReject: OnReject;
  /** Dataset name for rejects. */
  file?: string;
  /** Set false for text-only datasets: the image is then optional. Default true. */
  requireImage?: boolean;
}

const DEFAULTS = { ...MAPPING_DEFAULTS, requireImage: true };

type Check = { ok: true; row: DatasetRow } | { ok: false; reject: Omit<Reject, 'line' | 'stage'> };
type Image = { imgPath: string; imageData?: Uint8Array };

/**
 * Pure check of one parsed row through the field mapping (see `core/dataset/mapping.ts`): the
 * required fields are present and typed. The id may be a string or a safe integer (turned into
 * its string), or, in a JSON object keyed by id, the record's key; the label a string, number or
 * boolean (through `labelMap`), or an array of them (through `labelVote`); the text a string, a
 * number, or null/absent; the image a path or URL, or embedded bytes (`{bytes, path}` or binary).
 * A row lacking required fields is rejected with the fields it has and the flag or preset that fits.
 */
export function checkRow(record: JsonlRecord, options: ValidateRowOptions): Check {
  const o = { ...DEFAULTS, ...options };
  const v = record.value;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
    return fail('E_NOT_OBJECT', `expected a JSON object, got ${kind(v)}`, record.key);
  }
  const row = v as Record<string, unknown>;

  const rawId = fieldAt(row, o.idField) ?? record.key;
  const rawImage = o.imagePattern === undefined ? fieldAt(row, o.imageField) : undefined;
  const rawLabel = fieldAt(row, o.labelField);
  const missing: MissingField[] = [];
  if (rawId === undefined || rawId === null) missing.push({ role: 'id', field: o.idField });
  if (o.requireImage && o.imagePattern === undefined && (rawImage === undefined || rawImage === null)) missing.push({ role: 'image', field: o.imageField });
  if (rawLabel === undefined || rawLabel === null) missing.push({ role: 'label', field: o.labelField });
  if (missing.length > 0) {
    const also = missing.length > 1 ? ` (and ${missing.slice(1).map((m) => JSON.stringify(m.field)).join(', ')})` : '';
    const id = missing[0]!.role === 'id' ? undefined : idText(rawId);
    return fail('E_MISSING_FIELD', `field "${missing[0]!.field}" is missing${also}; ${fieldsHint(Object.keys(row), missing)}`, id ?? undefined);
  }

  let id: string;
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

  let image: Image = { imgPath: '' };
  if (o.imagePattern !== undefined) {
    const built = imageFromPattern(o.imagePattern, row, id);
    if (!built.ok) return fail('E_MISSING_FIELD', `field "${built.field}" of the image pattern ${o.imagePattern} is missing`, id);
    image.imgPath = built.path;
  } else if (rawImage !== undefined && rawImage !== null) {
    const got = imageOf(rawImage, o.imageField);
    if ('code' in got) return fail(got.code, got.message, id);
    image = got;
  }

  const label = mapLabel(rawLabel, o.labelField, o.labelMap, o.labelVote);
  if (!label.ok) return fail(label.code, label.message, id);

  // The first text field with text; a blank one is passed over for a later one (Memotion's
  // text_corrected is sometimes empty where text_ocr is not) but kept when none has text.
  let text: string | undefined;
  for (const field of o.textFields) {
    const t = fieldAt(row, field);
    if (t === undefined || t === null) continue;
    if (typeof t === 'string') {
      text ??= t;
      if (t.trim() === '') continue;
      text = t;
    } else if (typeof t === 'number' && Number.isFinite(t)) text = String(t);
    else return fail('E_FIELD_TYPE', `field "${field}" must be a string, got ${kind(t)}`, id);
    break;
  }

  const out: DatasetRow = { line: record.line, id, imgPath: image.imgPath, label: label.label };
  if (image.imageData !== undefined) out.imageData = image.imageData;
  if (text !== undefined) out.text = text;
  return { ok: true, row: out };
}

/** An image field's value: a path or URL, embedded bytes, or a `{bytes, path}` struct (Hugging Face's image feature). */
function imageOf(value: unknown, field: string): Image | { code: Reject['code']; message: string } {
  if (typeof value === 'string') {
    return value.trim() === '' ? { code: 'E_EMPTY_FIELD', message: `field "${field}" is empty` } : { imgPath: value };
  }
  if (value instanceof Uint8Array) return { imgPath: '', imageData: value };
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const { bytes, path } = value as { bytes?: unknown; path?: unknown };
    const name = typeof path === 'string' ? path : '';
    if (bytes instanceof Uint8Array) return { imgPath: name, imageData: bytes };
    if ((bytes === undefined || bytes === null) && name.trim() !== '') return { imgPath: name };
  }
  return { code: 'E_FIELD_TYPE', message: `field "${field}" must be a path, a URL or image bytes ({bytes, path}), got ${kind(value)}` };
}

function idText(rawId: unknown): string | null {
  return (typeof rawId === 'string' && rawId.trim() !== '') || (typeof rawId === 'number' && Number.isSafeInteger(rawId)) ? String(rawId) : null;
}

function fail(code: Reject['code'], message: string, id?: string): Check {
  return { ok: false, reject: id === undefined ? { code, message } : { id, code, message } };
}

/**
 * Stage: parsed records → {@link DatasetRow}s, through the field mapping. A row with a missing,
 * empty or wrong-typed required field goes to `onReject` naming the field (and, when missing,
 * the fields the row has and the flag or preset that fits). Holds one row at a time.
 */
export function validateRow(options: ValidateRowOptions): Stage<JsonlRecord, DatasetRow> {
  if (typeof options?.onReject !== 'function') throw optionError('onReject', options?.onReject, 'a function');
  const o = { ...DEFAULTS, ...options, ...checkMapping(options) };
  return async function* validateRowStage(source) {
    for await (const record of source) {
      const result = checkRow(record, o);
      if (result.ok) yield result.row;
      else await o.onReject({ ...(o.file === undefined ? {} : { file: o.file }), line: record.line, stage: 'validateRow', ...result.reject });
    }
  };
}
