import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { BatchExplainError } from '../../errors.js';
import { packageRoot } from '../io/package-root.js';

/**
 * Prompt templates: plain text where the literal `{}` stands for the row's label. Nothing else is
 * interpreted, so a JSON example such as `{"explanation": "..."}` in the prompt stays as written
 * (the original scripts ran `str.format` over the prompt and failed every row on exactly that).
 */

export const LABEL_PLACEHOLDER = '{}';

/** The original scripts' separator between the prompt and the meme's text. */
export const DEFAULT_TEXT_PREFIX = '\nText extracted: ';

/** Renders a row's prompt; `head(label)` is the prompt up to where a row's text goes (the prefix included). */
export type PromptRenderer = ((label: string, text: string | undefined) => string) & { head(label: string): string };

/**
 * Compiles a template once: it is split at each `{}` so rendering is a join. A template without
 * `{}` is a start-up error: every request would ignore the human label.
 */
export function compilePrompt(template: string, options: { textPrefix?: string; source?: string } = {}): PromptRenderer {
  const textPrefix = options.textPrefix ?? DEFAULT_TEXT_PREFIX;
  const parts = template.split(LABEL_PLACEHOLDER);
  if (parts.length < 2) {
    throw new BatchExplainError(
      'E_OPTION',
      `prompt${options.source ? ` ${options.source}` : ''} has no {} placeholder for the label; add {} where the label belongs`,
    );
  }
  // A row without text (absent, null or blank) gets no prefix: a dangling "Text extracted: " would
  // tell the model there was text, and that it was empty.
  const render = (label: string, text: string | undefined) => (text === undefined || text.trim() === '' ? parts.join(label) : parts.join(label) + textPrefix + text);
  return Object.assign(render, { head: (label: string) => parts.join(label) + textPrefix });
}

/**
 * Reads a prompt file. A name that is not a file but is one of the shipped prompts
 * (`armeme_explanation_arabic`, with or without `.txt`) reads the shipped one. Surrounding
 * whitespace is trimmed, as the original scripts did. `shippedDir` defaults to this package's
 * `prompts/` folder.
 */
export async function loadPromptFile(file: string, shippedDir: string = path.join(packageRoot(), 'prompts')): Promise<{ template: string; source: string }> {
  const candidates = [file];
  if (!file.includes('/') && !file.includes(path.sep)) {
    candidates.push(path.join(shippedDir, file), path.join(shippedDir, `${file}.txt`));
  }
  for (const candidate of candidates) {
    try {
      return { template: (await readFile(candidate, 'utf8')).replace(/^\uFEFF/, '').trim(), source: candidate };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new BatchExplainError('E_OPTION', `prompt ${candidate}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  throw new BatchExplainError('E_OPTION', `prompt ${file}: no such file (shipped prompts are in ${shippedDir})`);
}
