import { optionError } from '../errors.js';
import { compilePrompt, type PromptRenderer } from '../core/requests/prompt.js';
import type { DatasetRow, PromptedRow, Stage } from '../types.js';

export interface ApplyPromptOptions<T extends DatasetRow = DatasetRow> {
  /** Template text where `{}` is the label. Exactly one of `template` and `render`. */
  template?: string;
  /** Where the template came from, for the start-up error. */
  templateSource?: string;
  /** Put before the row's text. Default `"\nText extracted: "`, as the original scripts. */
  textPrefix?: string;
  /** A prompt function for custom tasks; replaces the template. */
  render?: (row: T) => string;
}

/**
 * Stage: rows → rows with `prompt`: the template with each `{}` replaced by the label, then the
 * text prefix and the row's text. Pure and synchronous per row; holds one row. A template
 * without `{}` throws at construction.
 */
export function applyPrompt<T extends DatasetRow>(options: ApplyPromptOptions<T>): Stage<T, T & PromptedRow> {
  const render = promptFunction(options);
  return async function* applyPromptStage(source) {
    for await (const row of source) yield { ...row, prompt: render(row) };
  };
}

/** The per-row function behind {@link applyPrompt}, for callers fusing steps in one stage. */
export function promptFunction<T extends DatasetRow>(options: ApplyPromptOptions<T>): (row: T) => string {
  if ((options?.template === undefined) === (options?.render === undefined)) {
    throw optionError('template/render', options, 'exactly one of template and render');
  }
  if (options.render) {
    if (typeof options.render !== 'function') throw optionError('render', options.render, 'a function');
    return options.render;
  }
  if (typeof options.template !== 'string') throw optionError('template', options.template, 'a string');
  const compiled: PromptRenderer = compilePrompt(options.template, {
    ...(options.textPrefix === undefined ? {} : { textPrefix: options.textPrefix }),
    ...(options.templateSource === undefined ? {} : { source: options.templateSource }),
  });
  return (row) => compiled(row.label, row.text);
}
