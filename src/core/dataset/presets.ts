/**
 * Presets: the published layouts of public meme datasets, as a format, a field mapping and a
 * shipped prompt. `--preset NAME` sets them; flags given beside it win.
 */
import type { FieldMapping } from './mapping.js';
import type { DatasetFormat } from './formats.js';

export interface Preset {
  name: string;
  /** One line for help and docs. */
  description: string;
  /** The format the dataset is published in; absent: chosen from the file's extension. */
  format?: DatasetFormat;
  mapping: FieldMapping;
  /** A shipped prompt's name (in `prompts/`), used when no `--prompt` is given. */
  prompt: string;
  /** Fields whose presence in a row says the row is in this layout (for hints). */
  signature: readonly string[];
}

export const PRESETS = {
  'hateful-memes': {
    name: 'hateful-memes',
    description: 'Facebook Hateful Memes: train.jsonl {id, img, label 0/1, text}',
    format: 'jsonl',
    mapping: { imageField: 'img', labelField: 'label', labelMap: { '0': 'not-hateful', '1': 'hateful' } },
    prompt: 'hateful_memes_explanation',
    signature: ['id', 'img', 'label'],
  },
  armeme: {
    name: 'armeme',
    description: 'ArMeme: {id, img_path, class_label, text} (JSONL, or Parquet with --image-field image)',
    mapping: {},
    prompt: 'armeme_explanation_english',
    signature: ['id', 'img_path', 'class_label'],
  },
  mmhs150k: {
    name: 'mmhs150k',
    description: 'MMHS150K: MMHS150K_GT.json keyed by tweet id, three annotators\' labels 0-5, images img_resized/<id>.jpg',
    format: 'json',
    mapping: {
      imagePattern: 'img_resized/{id}.jpg',
      labelField: 'labels',
      labelVote: 'majority',
      labelMap: { '0': 'not hateful', '1': 'racist', '2': 'sexist', '3': 'homophobic', '4': 'religious hate', '5': 'other hate' },
      textFields: ['tweet_text'],
    },
    prompt: 'mmhs150k_explanation',
    signature: ['labels', 'tweet_text'],
  },
  memotion: {
    name: 'memotion',
    description: 'Memotion 7k: labels.csv, image_name, text_corrected/text_ocr, offensive; images in images/',
    format: 'csv',
    mapping: {
      idField: 'image_name',
      imagePattern: 'images/{image_name}',
      labelField: 'offensive',
      labelMap: { not_offensive: 'not offensive', slight: 'slightly offensive', very_offensive: 'very offensive', hateful_offensive: 'hateful offensive' },
      textFields: ['text_corrected', 'text_ocr'],
    },
    prompt: 'memotion_explanation',
    signature: ['image_name', 'offensive'],
  },
  mami: {
    name: 'mami',
    description: 'MAMI (SemEval-2022 task 5): tab-separated file_name, misogynous 0/1, Text Transcription; images beside it',
    format: 'tsv',
    mapping: {
      idField: 'file_name',
      imageField: 'file_name',
      labelField: 'misogynous',
      labelMap: { '0': 'not misogynous', '1': 'misogynous' },
      textFields: ['Text Transcription'],
    },
    prompt: 'mami_explanation',
    signature: ['file_name', 'misogynous'],
  },
} as const satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** The presets whose signature fields all appear among `fields`. */
export function presetsMatching(fields: readonly string[]): Preset[] {
  const seen = new Set(fields);
  return Object.values(PRESETS).filter((p: Preset) => p.signature.every((f) => seen.has(f)));
}
