import { constants } from 'node:fs';
import { access, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BatchExplainError } from '../errors.js';
import { PARTIAL_SUFFIX } from '../core/shards/shard-file.js';
import { composeStages } from '../core/flow/compose.js';
import { compilePrompt } from '../core/requests/prompt.js';
import type { ReadJsonlStats } from '../stages/read-jsonl.js';
import { readDataset } from './read-dataset.js';
import { validateRow } from '../stages/validate-row.js';
import { resolveImage, type ImageUrls } from '../stages/resolve-image.js';
import { encodeImage, type EncodeImageOptions } from '../stages/encode-image.js';
import { applyPrompt } from '../stages/apply-prompt.js';
import { toRequestLine, type ToRequestLineOptions } from '../stages/to-request-line.js';
import { byteBudgetBatcher } from '../stages/byte-budget-batcher.js';
import { rejectsSink, type RejectCounts } from '../stages/rejects-sink.js';
import type { OnReject, ShardRecord } from '../types.js';
import { noRequestsError, type DatasetReading } from './no-requests.js';
import type { FieldMapping } from '../core/dataset/mapping.js';
import type { DatasetFormat } from '../core/dataset/formats.js';

export interface BuildOptions extends ToRequestLineOptions {
  /** Dataset file, or `-` for stdin. */
  dataset: string;
  /** An open stream to read instead of the file (the name stays `dataset`). */
  datasetStream?: NodeJS.ReadableStream;
  /** The dataset's format. Default: by the file's extension, JSONL otherwise and for stdin. */
  format?: DatasetFormat;
  /** Where the id, image, label and text are in the dataset's rows. Default `id`, `img_path`, `class_label`, `text`. */
  mapping?: FieldMapping;
  /** Prompt template text (`{}` = label). */
  template: string;
  /** Where the template came from, for messages. */
  templateSource?: string;
  textPrefix?: string;
  /** Folder for shard files. Exactly one of `outDir` and `output`. */
  outDir?: string;
  /** Stream for request lines (stdout). */
  output?: NodeJS.WritableStream;
  /** Rejects file. Default `<outDir>/rejects.jsonl`, or `rejects.jsonl` in the working directory with `output`. */
  rejectsPath?: string;
  /** Folder relative `img_path`s resolve against. Default: the dataset's folder, or the working directory for stdin. */
  imageRoot?: string;
  /** Refuse images that resolve outside `imageRoot` (symlinks included). */
  confine?: boolean;
  /** `img_path` URLs: `reject` (default), `fetch` (downloaded, see `remote`) or `passthrough` (sent as URLs). */
  imageUrls?: ImageUrls;
  /** How remote images are downloaded (encodeImage's `remote`). */
  remote?: EncodeImageOptions['remote'];
  /** Scale and convert images with sharp (encodeImage's `resize`). Off by default. */
  resize?: EncodeImageOptions['resize'];
  maxBytes?: number;
  maxRequests?: number;
  /** Estimated input tokens per shard: no shard passes it (set it to at most an enqueued-token quota). Default none. */
  maxShardTokens?: number;
  maxImageBytes?: number;
  /** Images requested ahead of the one being passed on. */
  concurrency?: number;
  /** Reader threads for images (and async `stat`s): 0 reads on the main thread (the default, fastest on local disks); 4–16 for network storage. */
  readers?: number;
  /** Replace shard files left in `outDir` by an earlier build. Without it, they stop the build. */
  overwrite?: boolean;
  fsync?: boolean;
  signal?: AbortSignal;
  /** Called as each shard is finished. */
  onShard?: (shard: ShardRecord) => void;
  /** Live counters for a progress display, filled in as the build goes (read them at any time). */
  progress?: BuildProgress;
}

/** A build's live counters: the dataset reader's (lines, bytes read...) and the shards finished so far. */
export interface BuildProgress {
  /** The reader's own counters, from the moment reading starts. */
  read?: ReadJsonlStats;
  shards: number;
  requests: number;
  requestBytes: number;
}

/** New, zeroed counters to pass as `progress`. */
export function buildProgress(): BuildProgress {
  return { shards: 0, requests: 0, requestBytes: 0 };
}

/** Counts a finished shard into `progress`. */
export function countShard(progress: BuildProgress | undefined, shard: ShardRecord): void {
  if (!progress) return;
  progress.shards++;
  progress.requests += shard.rows;
  progress.requestBytes += shard.bytes;
}

export interface BuildSummary {
  /** Non-blank lines read: each is a request or a reject. */
  rows: number;
  blankLines: number;
  requests: number;
  bytes: number;
  /** Estimated input tokens of all requests (null when not estimated). */
  inputTokens: number | null;
  shards: ShardRecord[];
  rejects: RejectCounts;
  rejectsPath: string;
}


/**
 * The stages from parsed dataset lines to request lines: validateRow → resolveImage →
 * encodeImage → applyPrompt → toRequestLine, composed into one.
 */
export function requestStages(options: BuildOptions, onReject: OnReject, name: string) {
  const readers = options.readers ?? 0;
  // The prompt is this head and the row's text: the token estimate counts the head once per label.
  const promptHead = compilePrompt(options.template, {
    ...(options.textPrefix === undefined ? {} : { textPrefix: options.textPrefix }),
    ...(options.templateSource === undefined ? {} : { source: options.templateSource }),
  });
  const imageRoot = options.imageRoot ?? (options.dataset === '-' ? process.cwd() : path.dirname(path.resolve(options.dataset)));
  return composeStages(
    validateRow({ ...options.mapping, onReject, file: name }),
    resolveImage({
      onReject,
      file: name,
      imageRoot,
      confine: options.confine ?? false,
      concurrency: readers > 0 ? Math.max(16, 2 * readers) : 0,
      ...(options.imageUrls === undefined ? {} : { imageUrls: options.imageUrls }),
    }),
    encodeImage({
      onReject,
      file: name,
      ...(options.maxImageBytes === undefined ? {} : { maxImageBytes: options.maxImageBytes }),
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      readers,
      ...(options.resize === undefined ? {} : { resize: options.resize }),
      ...(options.remote === undefined ? {} : { remote: options.remote }),
    }),
    applyPrompt({
      template: options.template,
      ...(options.templateSource === undefined ? {} : { templateSource: options.templateSource }),
      ...(options.textPrefix === undefined ? {} : { textPrefix: options.textPrefix }),
    }),
    toRequestLine({ ...options, promptHead: (label) => promptHead.head(label) }),
  );
}

/** The batcher configured from build options. */
export function shardBatcher(options: BuildOptions, onReject: OnReject, name: string) {
  return byteBudgetBatcher({
    onReject,
    file: name,
    ...(options.outDir === undefined ? { output: options.output! } : { outDir: options.outDir }),
    ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    ...(options.maxRequests === undefined ? {} : { maxRequests: options.maxRequests }),
    ...(options.maxShardTokens === undefined ? {} : { maxTokens: options.maxShardTokens }),
    ...(options.fsync === undefined ? {} : { fsync: options.fsync }),
  });
}

/** Counts of a finished build, checked to add up. */
export function buildSummary(stats: ReadJsonlStats, shards: ShardRecord[], rejects: RejectCounts, rejectsPath: string): BuildSummary {
  const summary: BuildSummary = {
    rows: stats.records + stats.rejected,
    blankLines: stats.blank,
    requests: shards.reduce((n, s) => n + s.rows, 0),
    bytes: shards.reduce((n, s) => n + s.bytes, 0),
    inputTokens: shards.every((s) => s.input_tokens !== undefined) ? shards.reduce((n, s) => n + s.input_tokens!, 0) : null,
    shards,
    rejects,
    rejectsPath,
  };
  if (summary.rows !== summary.requests + summary.rejects.total) {
    throw new BatchExplainError('E_COUNTS', `internal: ${summary.rows} rows read but ${summary.requests} requests + ${summary.rejects.total} rejects`);
  }
  return summary;
}

/**
 * dataset → shard files (or request lines on a stream) and a rejects file. Wires the format's reader →
 * {@link requestStages} → byteBudgetBatcher. Every non-blank line ends as a request or a reject;
 * the summary's counts are checked to add up.
 */
export async function build(options: BuildOptions): Promise<BuildSummary> {
  const { dataset, outDir } = options;
  const name = dataset === '-' ? '-' : dataset;
  const rejectsPath = options.rejectsPath ?? path.join(outDir ?? '.', 'rejects.jsonl');
  if (!options.datasetStream) await checkDataset(dataset);
  if (outDir !== undefined) await prepareOutDir(outDir, options.overwrite ?? false);

  const rejects = rejectsSink({ path: rejectsPath });
  const onReject = rejects.onReject;
  const shards: ShardRecord[] = [];
  const source = readDataset({ dataset, ...(options.datasetStream ? { stream: options.datasetStream } : {}), ...(options.format ? { format: options.format } : {}), name, onReject });
  if (options.progress) options.progress.read = source.stats;
  try {
    await pipeline(
      source,
      requestStages(options, onReject, name),
      shardBatcher(options, onReject, name),
      async function collect(records: AsyncIterable<ShardRecord>) {
        for await (const shard of records) {
          shards.push(shard);
          countShard(options.progress, shard);
          options.onShard?.(shard);
        }
      },
      ...(options.signal ? [{ signal: options.signal }] : []),
    );
    await rejects.close();
  } catch (err) {
    await rejects.discard();
    throw err;
  }
  const summary = buildSummary(source.stats, shards, rejects.counts, rejectsPath);
  // Zero requests is a failure, not an empty success: the rejects file says why, row by row.
  if (summary.requests === 0) throw await noRequestsError(dataset, summary, readingOf(options));
  return summary;
}

/** How the build reads its dataset (for the message of a build of no request). */
export function readingOf(options: Pick<BuildOptions, 'format' | 'mapping'>): DatasetReading {
  return { ...(options.format ? { format: options.format } : {}), ...(options.mapping ? { mapping: options.mapping } : {}) };
}

/**
 * Refuses, before anything is written, a dataset that cannot be read: a missing path, a folder,
 * a file without read permission. `-` (stdin) and pipes (`<(zcat data.jsonl.gz)`) pass.
 */
export async function checkDataset(dataset: string): Promise<void> {
  if (dataset === '-') return;
  const info = await stat(dataset).catch((err: NodeJS.ErrnoException) => {
    throw new BatchExplainError('E_INPUT', err.code === 'ENOENT' ? `${dataset}: no such file` : `${dataset}: cannot be read (${err.code ?? err.message})`);
  });
  if (info.isDirectory()) throw new BatchExplainError('E_INPUT', `${dataset}: is a folder; give the dataset file (JSONL)`);
  await access(dataset, constants.R_OK).catch((err: NodeJS.ErrnoException) => {
    throw new BatchExplainError('E_INPUT', `${dataset}: cannot be read (${err.code ?? err.message})`);
  });
}

/** Removes `.partial` leftovers of a crashed run; refuses to mix with shards of an earlier build unless told to replace them. */
export async function prepareOutDir(outDir: string, overwrite: boolean, prefix = 'batch_'): Promise<void> {
  const shardFile = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\d+\\.jsonl$`);
  let names: string[];
  try {
    names = await readdir(outDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const partials = names.filter((n) => n.endsWith(PARTIAL_SUFFIX));
  const old = names.filter((n) => shardFile.test(n));
  if (old.length > 0 && !overwrite) {
    throw new BatchExplainError(
      'E_OUTPUT',
      `${outDir} already holds ${old.length} shard file(s) (${old[0]}${old.length > 1 ? ', …' : ''}) from an earlier build; pass --overwrite to replace them or choose another --out-dir`,
    );
  }
  await Promise.all([...partials, ...(overwrite ? old : [])].map((n) => rm(path.join(outDir, n), { force: true })));
}
