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
  text: string | null;
}

const NO_LABEL = '(none)';

export function rowFields(row: Record<string, unknown>, mapping: FieldMapping = {}): RowFields {
  const m = { ...MAPPING_DEFAULTS, ...mapping };
  const id = mappedId(row, undefined, m.idField);
  const label = mapLabel(fieldAt(row, m.labelField), m.labelField, m.labelMap, m.labelVote);
  let imgPath: string | null = null;
  if (m.imagePattern !== undefined) {
    const built = id === null ? null : imageFromPattern(m.imagePattern, row, id);
    imgPath = built?.ok ? built.path : null;
  } else {
    const v = fieldAt(row, m.imageField);
    const path = typeof v === 'object' && v !== null && !(v instanceof Uint8Array) ? (v as { path?: unknown }).path : v;
    imgPath = typeof path === 'string' && path !== '' ? path : null;
  }
  let text: string | null = null;
  for (const f of m.textFields) {
    const t = fieldAt(row, f);
    if (typeof t === 'string' && t.trim() !== '') {
      text = t;
      break;
    }
  }
  return { id, label: label.ok ? label.label : NO_LABEL, imgPath, text };
}
