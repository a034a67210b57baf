import { requestLineBuilder, type RequestLineOptions } from '../core/request-line.js';
import type { DatasetRow, EncodedImage, PromptedRow, RequestLine, Stage } from '../types.js';

export type ToRequestLineOptions = RequestLineOptions;

/**
 * Stage: prompted rows → {@link RequestLine}s for `/chat/completions`:
 * `{"custom_id", "method":"POST", "url", "body":{"model", "messages":[{"role":"user","content":[image_url, text]}], "max_tokens", "temperature", ...}}`.
 * Rows without `image` become text-only requests. Each line is serialised once: the JSON around
 * the image is built here, the image's base64 is written straight to the shard. Options are
 * checked at construction.
 */
export function toRequestLine<T extends DatasetRow & PromptedRow & Partial<EncodedImage>>(
  options: ToRequestLineOptions,
): Stage<T, RequestLine> {
  const build = requestLineBuilder(options);
  return async function* toRequestLineStage(source) {
    for await (const row of source) {
      yield build({ line: row.line, id: row.id, prompt: row.prompt, ...(row.image === undefined ? {} : { image: row.image }) });
    }
  };
}
