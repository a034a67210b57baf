/** batch-explain as a library: every stage, the pipelines built from them, and their types. */
export * from './types.js';
export { BatchExplainError, EXIT, type ErrorCode } from './errors.js';
export { RetriesExhaustedError } from './core/http/retry.js';

export { readJsonl, type ReadJsonlOptions, type ReadJsonlStats } from './stages/read-jsonl.js';
export { readJson, type ReadJsonOptions } from './stages/read-json.js';
export { readDelimited, type ReadDelimitedOptions } from './stages/read-delimited.js';
export { readParquet, type ReadParquetOptions } from './stages/read-parquet.js';
export { validateRow, checkRow, type ValidateRowOptions } from './stages/validate-row.js';
// A dataset's layout: formats, field mapping, presets, the hint for rows lacking fields.
export { formatOf, DATASET_FORMATS, type DatasetFormat } from './core/dataset/formats.js';
export { fieldAt, mapLabel, parseLabelMap, checkMapping, jobMapping, type FieldMapping, type JobMapping, type LabelVote } from './core/dataset/mapping.js';
export { PRESETS, PRESET_NAMES, type Preset, type PresetName } from './core/dataset/presets.js';
export { missingFieldHint, type MissingField, type FieldRole } from './core/dataset/field-hint.js';
export { rowFields, type RowFields } from './core/dataset/row-view.js';
export { resolveImage, type ResolveImageOptions, type ImageUrls } from './stages/resolve-image.js';
export { resolveImagePath } from './core/images/image-path.js';
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

export { composeStages } from './core/flow/compose.js';
export { compilePrompt, loadPromptFile, DEFAULT_TEXT_PREFIX, type PromptRenderer } from './core/requests/prompt.js';
export {
  requestLineBuilder,
  URL_BY_PROVIDER,
  type RequestLineOptions,
  type RequestInput,
  type Provider,
  type ResponseFormat,
  type ImageDetail,
} from './core/requests/request-line.js';
export { sniffImageFormat, checkImageComplete, MIME_BY_FORMAT } from './core/images/image-format.js';
export { fitDimensions, parseResizeTarget, RESIZE_HIGH_DETAIL, RESIZE_LOW_DETAIL, type ResizeTarget, type ImageResizeOptions } from './core/images/image-resize.js';
export { isPublicAddress } from './core/images/address-policy.js';
export { REMOTE_DEFAULTS, type RemoteImageOptions } from './core/images/remote-image.js';
export { LineWriter, segmentsToString, dataUriToString, dataUriByteLength } from './core/shards/line-writer.js';
export type { ShardTarget } from './core/shards/shard-file.js';
export { parseByteSize } from './core/flow/options.js';
export { FileReaderPool, type FileReadResult } from './core/io/file-reader.js';
// Token estimates: the build's per-request and per-shard input tokens.
export {
  requestTokenEstimator,
  requestBodyTokens,
  loadTextCounter,
  textEncodingFor,
  wordCachedCounter,
  MESSAGE_TOKENS,
  REPLY_TOKENS,
  type RequestTokenOptions,
  type RequestTokenInput,
  type TextCounter,
  type TextEncoding,
} from './core/requests/token-estimate.js';
export { imageTokens, imageTokenRule, maxImageTokens, type ImageTokenRule } from './core/requests/image-tokens.js';
export { imageDimensions, type ImageDimensions } from './core/images/image-dimensions.js';

export { build, type BuildOptions, type BuildSummary } from './pipeline/build.js';
export { readDataset, type ReadDatasetOptions } from './pipeline/read-dataset.js';
export { mergeDataset, type DatasetMergeOptions } from './pipeline/merge-layout.js';

// The reverse pipeline: results folded back into the dataset.
export { readResults, resultFromLine, type ResultRecord, type ResultSource, type ResultFailure, type ReadResultsOptions } from './stages/reverse/read-results.js';
export { parseExplanation, type ParsedExplanation, type ExplanationFailure, type ParseExplanationOptions } from './core/results/parse-explanation.js';
export { externalSort, DEFAULT_SORT_MEMORY, type ExternalSortOptions, type ExternalSortStats } from './stages/reverse/external-sort.js';
export { mergeJoin, mergeJoinSync, type MergeJoinOptions, type JoinKey } from './stages/reverse/merge-join.js';
export { mergeIntoDataset, DatasetSplicer, type MergeIntoDatasetOptions, type MergedRow, type RowOutcome, type SpliceOutcome } from './stages/reverse/merge-into-dataset.js';
export { indexResults, resultLineKeys, type ResultPointer, type ResultLineKey, type IndexResultsOptions, type BadResultLine } from './stages/reverse/index-results.js';
// The same path in bytes, as the merge composes it: batches of entries (numeric keys, payload bytes) between stages.
export { datasetIdEntries, type DatasetIdEntriesOptions } from './stages/reverse/dataset-id-entries.js';
export { indexResultEntries, indexResultEntriesOnThread, type IndexResultEntriesOptions, type IndexResultEntriesOnThreadOptions, type ResultIndexOnThread } from './stages/reverse/index-result-entries.js';
export { sortEntries, type SortEntriesOptions } from './stages/reverse/sort-entries.js';
export { mergeJoinEntries, type MergeJoinEntriesOptions } from './stages/reverse/merge-join-entries.js';
export { resolveResults, type ResolveResultsOptions } from './stages/reverse/resolve-results.js';
export { spliceIntoDataset, type SpliceIntoDatasetOptions } from './stages/reverse/splice-into-dataset.js';
export { idJoin, type IdJoinCounts } from './core/join/id-join.js';
export { EntryBatch, EntryBatchCursor, BATCH_BYTES, BATCH_ENTRIES } from './core/sort/entry-batch.js';
export { EntryGroup } from './core/sort/entry-group.js';
export { RunSorter, SortMemory, type RunSorterOptions, type SortKey, type SortedEntry, type SpilledRuns } from './core/sort/run-sorter.js';
export { hashBytes, idLiteral, idOfLiteral } from './core/json/id-key.js';
export { PartialFileOutput, StreamOutput, writeChunks, type StagedOutput } from './core/io/staged-output.js';

export { merge, resultSources, type MergeOptions, type MergeStep, type MergeSummary } from './pipeline/merge.js';
export { submit, type SubmitOptions, type SubmitSummary } from './pipeline/submit.js';
export { retrieve, type RetrieveOptions, type RetrieveSummary } from './pipeline/retrieve.js';
export { resubmit, RETRYABLE, NOT_RESUBMITTED, type ResubmitOptions, type ResubmitSummary } from './pipeline/resubmit.js';
export { run, type RunOptions, type RunSummary } from './pipeline/run.js';
export { Manifest, TERMINAL_STATUSES, hasPendingWork, requeuedShards, type ManifestOptions, type ManifestState, type BatchState } from './batch-api/manifest.js';
export { chooseJobFolder, downloadedFiles, jobFolders, jobsOfResultFiles, settingsDiff, type ChosenFolder, type JobFolder, type ResultJob } from './pipeline/job/job.js';
export { jobSettings, jobConfigDigest } from './pipeline/job/job-settings.js';
export { escapeControls } from './core/io/terminal-text.js';
export { sniffFormat, fieldsOfFirstRows, type SniffedFormat } from './core/dataset/dataset-sniff.js';
export { QuotaGate, type QuotaGateOptions, type QuotaLimits, type QuotaEvent } from './batch-api/quota.js';
export { deleteInputFile, DELETE_INPUT_FILES, type DeleteInputFiles } from './batch-api/input-files.js';
export { openProvider, type Provider as BatchProvider, type ProviderName, type ProviderOptions } from './pipeline/providers.js';

// Direct mode: requests sent one by one to an OpenAI-compatible /chat/completions, no Batch API.
export { sendDirect, chatEndpoint, type SendDirectOptions, type SendDirectStats } from './stages/send-direct.js';
export { directResultsSink, type DirectResult, type DirectResultsSink, type DirectResultsSinkOptions } from './stages/direct-results-sink.js';
export { RateLimiter, parseDuration, type RateLimiterOptions, type RateLimiterStats, type Ticket } from './core/direct/rate-limit.js';
export { requestFromLine, requestFromBuilt, bodySkeleton, bodyTokens, bodyTokenEstimator, lineBuffer, type DirectRequest, type ScannedRequest, type RequestLineProblem } from './core/direct/direct-request.js';
export { lineBuffers } from './core/io/line-buffers.js';
export { DoneIds, addResultFiles, cutPartialLastLine } from './core/direct/done-ids.js';
export { mapUnordered } from './core/flow/map-unordered.js';
export { sendDataset, sendRequestLines, requestFiles, type DirectOptions, type DirectProgress, type DirectSummary } from './pipeline/direct.js';
export { runDirect, type RunDirectOptions, type RunDirectSummary } from './pipeline/direct-run.js';
// Looking at the explanations: quality checks, the report, the viewer.
export { qualityCheck } from './stages/quality-check.js';
export { QualityChecker, labelOf, type QualityCheckOptions, type QualityRow, type MergedRecord, type RowFailure } from './core/quality/quality-checker.js';
export { FLAGS, FLAG_BIT, flagNames, checkExplanation, measureText, textDirection, normalizeArabic, type Flag, type ExpectedScript, type QualityOptions } from './core/quality/quality.js';
export { promptScript, LANGUAGE_SCRIPT } from './core/requests/prompt-language.js';
export { RECLASSIFICATION_PHRASES_EN, RECLASSIFICATION_PHRASES_AR } from './core/quality/reclassification.js';
export { DuplicateTable, DEFAULT_DUPLICATE_MEMORY } from './core/quality/duplicate-table.js';
export { report, type ReportOptions, type ReportResult } from './pipeline/report/report.js';
export { scanMerged, type ScanOptions, type ScanResult } from './pipeline/report/report-scan.js';
export type { ReportSummary } from './core/quality/report-tally.js';
export { startViewer, type Viewer, type ViewerOptions } from './viewer/server.js';
