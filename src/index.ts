/** batch-explain as a library: every stage, the pipelines built from them, and their types. */
export * from './types.js';
export { BatchExplainError, EXIT, type ErrorCode } from './errors.js';

export { readJsonl, type ReadJsonlOptions, type ReadJsonlStats } from './stages/read-jsonl.js';
export { validateRow, checkRow, type ValidateRowOptions } from './stages/validate-row.js';
export { resolveImage, resolveImagePath, type ResolveImageOptions } from './stages/resolve-image.js';
export { encodeImage, type EncodeImageOptions } from './stages/encode-image.js';
export { applyPrompt, promptFunction, type ApplyPromptOptions } from './stages/apply-prompt.js';
export { toRequestLine, type ToRequestLineOptions } from './stages/to-request-line.js';
export {
  byteBudgetBatcher,
  shardFileName,
  DEFAULT_SHARD_BYTES,
  DEFAULT_SHARD_REQUESTS,
  type ByteBudgetBatcherOptions,
} from './stages/byte-budget-batcher.js';
export { rejectsSink, type RejectsSink, type RejectsSinkOptions, type RejectCounts } from './stages/rejects-sink.js';

export { composeStages } from './core/compose.js';
export { compilePrompt, loadPromptFile, DEFAULT_TEXT_PREFIX, type PromptRenderer } from './core/prompt.js';
export {
  requestLineBuilder,
  URL_BY_PROVIDER,
  type RequestLineOptions,
  type RequestInput,
  type Provider,
  type ResponseFormat,
  type ImageDetail,
} from './core/request-line.js';
export { sniffImageFormat, checkImageComplete, MIME_BY_FORMAT } from './core/image-format.js';
export { LineWriter, segmentsToString, dataUriToString, dataUriByteLength } from './core/line-writer.js';
export type { ShardTarget } from './core/shard-file.js';
export { parseByteSize } from './core/options.js';
export { FileReaderPool, type FileReadResult } from './core/file-reader.js';

export { build, type BuildOptions, type BuildSummary } from './pipeline/build.js';
