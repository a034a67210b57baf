/**
 * A merged row's id, label, image and text read through the job's mapping, for the report and
 * the viewer (which show rows in the dataset's own layout: `img` and `label: 1` for Hateful Memes).
 */
import { fieldAt, imageFromPattern, mapLabel, mappedId, MAPPING_DEFAULTS, type FieldMapping } from './mapping.js';

export interface RowFields {
  id: string | null;
  /** The label as the prompt had it (mapped, voted); `(none)` when the row has no usable one. */
  label: string;
  /** The image's path or URL as the row gives it (built from the pattern when there is one); null when none or embedded. */
  imgPath: string | null;
  /** The image is embedded in the row (bytes, or a `{bytes, path}` struct; base64 text in a JSON output): {@link embeddedImage} gives it. */
  embedded: boolean;
  text: string | null;
}

const NO_LABEL = '(none)';

export function rowFields(row: Record<string, unknown>, mapping: FieldMapping = {}): RowFields {
  const m = { ...MAPPING_DEFAULTS, ...mapping };
  const id = mappedId(row, undefined, m.idField);
  const label = mapLabel(fieldAt(row, m.labelField), m.labelField, m.labelMap, m.labelVote);
  let imgPath: string | null = null;
  let embedded = false;
  if (m.imagePattern !== undefined) {
    const built = id === null ? null : imageFromPattern(m.imagePattern, row, id);
    imgPath = built?.ok ? built.path : null;
  } else {
    const v = fieldAt(row, m.imageField);
    embedded = bytesOf(v) !== null;
    const path = typeof v === 'object' && v !== null && !(v instanceof Uint8Array) ? (v as { path?: unknown }).path : v;
    // An embedded image's `path` is the name it had where it was made, not a file here.
    imgPath = !embedded && typeof path === 'string' && path !== '' ? path : null;
  }
  let text: string | null = null;
  for (const f of m.textFields) {
    const t = fieldAt(row, f);
    if (typeof t === 'string' && t.trim() !== '') {
      text = t;
      break;
    }
  }
  return { id, label: label.ok ? label.label : NO_LABEL, imgPath, embedded, text };
}

/** The bytes of a row's embedded image (decoded from base64 when the row came through JSON), or null. */
export function embeddedImage(row: Record<string, unknown>, mapping: FieldMapping = {}): Buffer | null {
  if (mapping.imagePattern !== undefined) return null;
  const bytes = bytesOf(fieldAt(row, mapping.imageField ?? MAPPING_DEFAULTS.imageField));
  if (bytes === null) return null;
  return typeof bytes === 'string' ? Buffer.from(bytes, 'base64') : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** An image field's embedded bytes: binary, or the `bytes` of a `{bytes, path}` struct (binary, or base64 text as merge writes it in JSON). */
function bytesOf(v: unknown): Uint8Array | string | null {
  if (v instanceof Uint8Array) return v.byteLength > 0 ? v : null;
  if (typeof v !== 'object' || v === null) return null;
  const bytes = (v as { bytes?: unknown }).bytes;
  if (bytes instanceof Uint8Array) return bytes.byteLength > 0 ? bytes : null;
  return typeof bytes === 'string' && bytes !== '' ? bytes : null;
}
