import { nonEmptyString } from '../core/flow/options.js';
import { requestLineBuilder, type RequestLineOptions } from '../core/requests/request-line.js';
import { loadTextCounter, requestTokenEstimator, textEncodingFor } from '../core/requests/token-estimate.js';
import type { DatasetRow, EncodedImage, PromptedRow, RequestLine, Stage } from '../types.js';

export interface ToRequestLineOptions extends RequestLineOptions {
  /** Estimate each request's input tokens (`tokens` on the line, summed per shard). Default true. */
  estimateTokens?: boolean;
  /** The model whose tokenizer and image rule the estimate follows. Default `model` (name an Azure deployment's model here). */
  tokenModel?: string;
  /** The prompt before the row's text, by label, when prompts are made so (see RequestTokenOptions.promptHead). */
  promptHead?: (label: string) => string;
}

/**
 * Stage: prompted rows → {@link RequestLine}s for `/chat/completions`:
 * `{"custom_id", "method":"POST", "url", "body":{"model", "messages":[{"role":"user","content":[image_url, text]}], "max_tokens", "temperature", ...}}`.
 * Rows without `image` become text-only requests. Each line is serialised once: the JSON around
 * the image is built here, the image's base64 is written straight to the shard. Options are
 * checked at construction.
 *
 * Each line carries its estimated input tokens (core/requests/token-estimate.ts): the prompt through the
 * model's tokenizer (loaded when the stage starts; the head of the prompt counted once per
 * label), the image from the width and height on `image`. Nothing is decoded or read again.
 *
 * Memory: one row and its line's segments (the image bytes are the row's own, not copied).
 * Failures: none per row; bad options throw at construction, and a tokenizer that cannot be
 * loaded fails the stage when it starts.
 */
export function toRequestLine<T extends DatasetRow & PromptedRow & Partial<EncodedImage>>(options: ToRequestLineOptions): Stage<T, RequestLine> {
  const build = requestLineBuilder(options);
  const tokenModel = options.tokenModel === undefined ? options.model : nonEmptyString('tokenModel', options.tokenModel);
  return async function* toRequestLineStage(source) {
    const estimate =
      options.estimateTokens === false
        ? null
        : requestTokenEstimator({
            model: tokenModel,
            ...(options.detail === undefined ? {} : { detail: options.detail }),
            ...(options.promptHead ? { promptHead: options.promptHead } : {}),
            countText: await loadTextCounter(textEncodingFor(tokenModel)),
          });
    for await (const row of source) {
      const line = build({ line: row.line, id: row.id, prompt: row.prompt, ...(row.image === undefined ? {} : { image: row.image }) });
      if (estimate) {
        line.tokens = estimate({
          prompt: row.prompt,
          label: row.label,
          ...(row.text === undefined ? {} : { text: row.text }),
          ...(row.image === undefined ? {} : { image: row.image }),
        });
      }
      yield line;
    }
  };
}
