/** Flags of the dataset's layout (format, field mapping, preset), shared by every command that reads a dataset. */
import { readFileSync } from 'node:fs';
import { BatchExplainError } from '../src/errors.js';
import { checkMapping, jobMapping, LABEL_VOTES, parseLabelMap, type FieldMapping, type JobMapping, type LabelVote } from '../src/core/dataset/mapping.js';
import { DATASET_FORMATS, formatOf, type DatasetFormat } from '../src/core/dataset/formats.js';
import { PRESET_NAMES, PRESETS, type Preset, type PresetName } from '../src/core/dataset/presets.js';

export const mappingFlags = {
  preset: { choices: PRESET_NAMES, describe: 'A public dataset\'s layout: sets --format, the fields, the label map and the default --prompt (see docs/datasets.md)' },
  format: { choices: DATASET_FORMATS, describe: 'Dataset format (default: by extension: .jsonl .json .csv .tsv .parquet; JSONL otherwise and for stdin)' },
  'id-field': { type: 'string', describe: 'Field holding the id (dotted for nested: meta.id; default id)' },
  'image-field': { type: 'string', describe: 'Field holding the image: a path, a URL, or embedded bytes ({bytes, path}) (default img_path)' },
  'image-pattern': { type: 'string', describe: 'Build the image path from fields instead: img_resized/{id}.jpg, images/{image_name}' },
  'label-field': { type: 'string', describe: 'Field holding the label (default class_label)' },
  'text-field': { type: 'string', array: true, describe: 'Field(s) holding the text, tried in order (default text, then extracted_text)' },
  'label-map': { type: 'string', describe: 'Raw label to prompt label: 0=not-hateful,1=hateful, or a JSON file of such an object' },
  'label-vote': { choices: LABEL_VOTES, describe: 'A label that is an array: majority (ties: the first listed), first, or join (default)' },
} as const;

/** The flags saying where a merged row keeps its id, label, image and text (report, view): all but the format. */
export const rowMappingFlags = (({ format: _format, ...rest }) => rest)(mappingFlags);

export type MappingArgs = {
  preset?: PresetName;
  format?: DatasetFormat;
  'id-field'?: string;
  'image-field'?: string;
  'image-pattern'?: string;
  'label-field'?: string;
  'text-field'?: string[];
  'label-map'?: string;
  'label-vote'?: LabelVote;
};

export interface DatasetLayout {
  /** Undefined: by the file's extension. */
  format?: DatasetFormat;
  mapping: FieldMapping;
  /** The preset's prompt, for commands given no --prompt. */
  prompt?: string;
}

/** The layout from flags: the preset's, with each flag given beside it winning. */
export function layoutFromArgs(args: MappingArgs): DatasetLayout {
  const preset: Preset | undefined = args.preset === undefined ? undefined : PRESETS[args.preset];
  const mapping: FieldMapping = { ...preset?.mapping };
  if (args['id-field'] !== undefined) mapping.idField = args['id-field'];
  if (args['image-field'] !== undefined) {
    mapping.imageField = args['image-field'];
    delete mapping.imagePattern;
  }
  if (args['image-pattern'] !== undefined) mapping.imagePattern = args['image-pattern'];
  if (args['label-field'] !== undefined) mapping.labelField = args['label-field'];
  if (args['text-field'] !== undefined) mapping.textFields = args['text-field'];
  if (args['label-map'] !== undefined) mapping.labelMap = labelMapFlag(args['label-map']);
  if (args['label-vote'] !== undefined) mapping.labelVote = args['label-vote'];
  try {
    checkMapping(mapping);
  } catch (err) {
    throw new BatchExplainError('E_OPTION', (err as Error).message.replace(/^option /, '--'), { cause: err });
  }
  const format = args.format ?? preset?.format;
  return { ...(format === undefined ? {} : { format }), mapping, ...(preset ? { prompt: preset.prompt } : {}) };
}

/** Whether any flag of the layout was given. */
export function layoutGiven(args: MappingArgs): boolean {
  return (['preset', 'format', 'id-field', 'image-field', 'image-pattern', 'label-field', 'text-field', 'label-map', 'label-vote'] as const).some((k) => args[k] !== undefined);
}

/**
 * The layout of a command that reads a job's dataset again (merge, report, view, resubmit): the
 * flags when any is given, else the one the job's manifest recorded, else JSONL with the default fields.
 */
export function jobLayout(args: MappingArgs & { dataset?: string }, recorded: JobMapping | undefined): JobMapping | undefined {
  if (!layoutGiven(args)) return recorded;
  const layout = layoutFromArgs(args);
  return jobMapping(layout.format ?? formatOf(args.dataset ?? '-'), layout.mapping);
}

/** `--label-map`: pairs, inline JSON, or the name of a JSON file. */
function labelMapFlag(value: string): Record<string, string> {
  const inline = value.includes('=') || value.trim().startsWith('{');
  let text = value;
  if (!inline) {
    try {
      text = readFileSync(value, 'utf8');
    } catch (err) {
      throw new BatchExplainError('E_OPTION', `--label-map: ${JSON.stringify(value)} is neither raw=label pairs nor a readable JSON file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  try {
    return parseLabelMap(text);
  } catch (err) {
    throw new BatchExplainError('E_OPTION', `--label-map: ${(err as Error).message.replace(/^option labelMap: /, '')}`);
  }
}
