import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { composeStages } from '../core/flow/compose.js';
import { bodyTokenEstimator, requestFromBuilt, requestFromLine, type DirectRequest } from '../core/direct/direct-request.js';
import { addResultFiles, cutPartialLastLine, DoneIds } from '../core/direct/done-ids.js';
import { BufferPool, lineBuffers } from '../core/io/line-buffers.js';
import { datasetKey } from '../core/join/join-keys.js';
import { RateLimiter } from '../core/direct/rate-limit.js';
import { DEFAULT_MAX_TOKENS } from '../core/requests/request-line.js';
import { BatchExplainError } from '../errors.js';
import { DIRECT_FILE, directResultsSink, type DirectResult, type DirectResultsSinkOptions } from '../stages/direct-results-sink.js';
import { readDataset } from './read-dataset.js';
import { mappedId } from '../core/dataset/mapping.js';
import { rejectsSink, type RejectCounts, type RejectsSink } from '../stages/rejects-sink.js';
import { sendDirect, type SendDirectOptions, type SendDirectStats } from '../stages/send-direct.js';
import type { JsonlRecord, RequestLine } from '../types.js';
import { requestStages, type BuildOptions } from './build.js';

export interface DirectOptions extends Omit<SendDirectOptions, 'limiter'>, Omit<DirectResultsSinkOptions, 'dir'> {
  /** Folder of `direct-<n>.output.jsonl` / `.errors.jsonl`; its earlier successes are not sent again. */
  resultsDir: string;
  /** Rows that never became a request, with file, line and reason. */
  rejectsPath: string;
  /** Requests per minute at most (our own cap). */
  rpm?: number;
  /** Estimated tokens per minute at most (our own cap). */
  tpm?: number;
  signal?: AbortSignal;
  /** Told every `progressMs` (default 10 s) while requests go out. */
  onProgress?: (progress: DirectProgress) => void;
  progressMs?: number;
}

export interface DirectProgress extends SendDirectStats {
  /** Rows or request lines skipped: they have a success in an earlier result file. */
  skipped: number;
  /** Requests that waited for the rate limiter (caps, the server's headers, a 429). */
  rateLimitWaits: number;
}

export interface DirectSummary extends DirectProgress {
  /** Rows (dataset) or request lines read, blank lines aside: `skipped + rejects + succeeded + failed`. */
  read: number;
  rejects: RejectCounts;
  rejectsPath: string;
  /** The files written by this run, or null when it wrote no line there. */
  outputPath: string | null;
  errorsPath: string | null;
  /** Successes found in earlier result files, and the memory of their id set. */
  doneIds: number;
  doneIdBytes: number;
  /** Partial last lines cut off earlier result files (a killed run). */
  partialLinesCut: number;
}

/**
 * Direct mode from a dataset: readJsonl → (rows already answered skipped, by id) → the build's
 * request stages → {@link sendDirect} → `direct-<n>` result files. No shard is written; rows are
 * read, encoded and sent as they come. Each request is the build's line written into a pooled
 * Buffer: its id, body offset and token estimate (plus the answer cap) come with it, nothing is
 * scanned. Run again after a crash, it sends only rows with no success.
 */
export async function sendDataset(options: DirectOptions & { build: Omit<BuildOptions, 'outDir' | 'output'> }): Promise<DirectSummary> {
  const build = options.build;
  if (build.dataset === '-' && !build.datasetStream) throw new BatchExplainError('E_OPTION', 'direct mode reads the dataset from a file (merge reads it again)');
  const name = build.dataset;
  claimResultsDir(options.resultsDir, build);
  return session(options, (done, rejects, counts, pool) => {
    const source = readDataset({ dataset: build.dataset, ...(build.datasetStream ? { stream: build.datasetStream } : {}), ...(build.format ? { format: build.format } : {}), name, onReject: rejects.onReject });
    counts.read = () => source.stats.records + source.stats.rejected;
    async function* skipAnswered(records: AsyncIterable<JsonlRecord>) {
      for await (const r of records) {
        const id = mappedId(r.value, r.key, build.mapping?.idField);
        if (id !== null && done.has(id)) counts.skipped++;
        else yield r;
      }
    }
    const answerCap = build.maxTokens ?? DEFAULT_MAX_TOKENS;
    async function* toDirect(lines: AsyncIterable<RequestLine>): AsyncGenerator<DirectRequest> {
      for await (const l of lines) {
        const { buf, ...request } = requestFromBuilt(l, answerCap, (size) => pool.take(size));
        yield { ...request, release: () => pool.give(buf) };
      }
    }
    // The limiter needs every request's estimate, whatever the build options say.
    return composeStages(skipAnswered, requestStages({ ...build, estimateTokens: true }, rejects.onReject, name), toDirect)(source);
  });
}

/**
 * Direct mode from request lines (shards of `build`, or `build --out -` on stdin): each line's
 * `custom_id` and `body` are cut out of its bytes and sent; its tokens are estimated from the
 * body's skeleton by the build's estimator (see direct-request.ts). A line that is not a request
 * line is a reject (`E_BAD_JSON`, `E_NOT_OBJECT`, `E_MISSING_FIELD`, `E_FIELD_TYPE`), with its file and line.
 * `requests`: files, folders (their shards: `batch_00001.jsonl`, `r1_batch_00001.jsonl`...), or `-`.
 */
export async function sendRequestLines(options: DirectOptions & { requests: string[]; stdin?: NodeJS.ReadableStream }): Promise<DirectSummary> {
  const files = requestFiles(options.requests);
  return session(options, (done, rejects, counts, pool) => {
    let read = 0;
    counts.read = () => read;
    const estimate = bodyTokenEstimator();
    async function* source(): AsyncGenerator<DirectRequest> {
      for (const file of files) {
        const name = file === '-' ? '-' : file;
        const input = file === '-' ? (options.stdin ?? process.stdin) : createReadStream(file, { highWaterMark: 64 * 1024 });
        for await (const { line, buf } of lineBuffers(input as AsyncIterable<Buffer>, { name, alloc: (size) => pool.take(size) })) {
          const request = isBlank(buf) ? null : requestFromLine(buf, line);
          if (request && !('code' in request) && !done.has(request.customId)) {
            read++;
            const { skeleton, ...rest } = request;
            yield { ...rest, tokens: await estimate(skeleton), release: () => pool.give(buf) };
            continue;
          }
          pool.give(buf);
          if (request === null) continue;
          read++;
          if ('code' in request) await rejects.onReject({ file: name, line, ...(request.customId ? { id: request.customId } : {}), stage: 'readRequests', code: request.code, message: request.message });
          else counts.skipped++;
        }
      }
    }
    return source();
  });
}

/** A line of spaces and tabs only (JSON's blank, as the rest of the tool counts it). */
function isBlank(buf: Buffer): boolean {
  for (const b of buf) if (b !== 0x20 && b !== 0x09) return false;
  return true;
}

/** Written in the results folder by {@link sendDataset}: the settings its answers were made with. */
export const DIRECT_JOB_FILE = 'direct-job.json';

/**
 * Answers made with another prompt or model must not pass for this job's: a re-run would skip
 * their rows. The first run records a digest of the settings that shape the requests; later
 * runs must match it. (The dataset may change: rows are told apart by id.)
 */
function claimResultsDir(dir: string, build: Omit<BuildOptions, 'outDir' | 'output'>): void {
  const { template, textPrefix, model, url, maxTokens, tokenParam, temperature, detail, responseFormat, explanationField } = build;
  const settings = createHash('sha256').update(JSON.stringify({ template, textPrefix, model, url, maxTokens, tokenParam, temperature, detail, responseFormat, explanationField })).digest('hex');
  const file = path.join(dir, DIRECT_JOB_FILE);
  mkdirSync(dir, { recursive: true });
  let recorded: unknown;
  try {
    recorded = (JSON.parse(readFileSync(file, 'utf8')) as { settings?: unknown }).settings;
  } catch {
    // None yet (or unreadable): this run's settings are the job's.
  }
  if (recorded === settings) return;
  if (typeof recorded === 'string') {
    throw new BatchExplainError('E_OPTION', `${dir} holds answers made with other settings (prompt, model, max tokens...): this run would skip their rows. Use another --results-dir, or the same settings to resume`);
  }
  writeFileSync(`${file}.partial`, `${JSON.stringify({ settings, model, at: new Date().toISOString() })}\n`);
  renameSync(`${file}.partial`, file);
}

/** The request files named: folders give their shards, in order. */
export function requestFiles(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    if (p === '-') {
      files.push(p);
      continue;
    }
    const s = statSync(p, { throwIfNoEntry: false });
    if (!s) throw new BatchExplainError('E_INPUT', `requests: ${p}: no such file or folder`);
    if (!s.isDirectory()) files.push(p);
    else {
      const shards = readdirSync(p).filter((n) => /^(r\d+_)?batch_\d+\.jsonl$/.test(n)).sort();
      if (shards.length === 0) throw new BatchExplainError('E_INPUT', `requests: ${p} holds no shard (batch_00001.jsonl...); name the files`);
      files.push(...shards.map((n) => path.join(p, n)));
    }
  }
  return files;
}

interface SessionCounts {
  skipped: number;
  read: () => number;
}

type SourceFactory = (done: DoneIds, rejects: RejectsSink, counts: SessionCounts, pool: BufferPool) => AsyncIterable<DirectRequest>;

/** Line buffers kept for reuse beyond those in flight: the read-ahead of the stages before the send. */
const POOLED_SPARE = 4;

/**
 * What both entries share: earlier result files made whole and their successes read into a
 * {@link DoneIds} set; the requests sent through the limiter to new result files; the counts
 * checked to add up. Memory: the id set (≤ 32 bytes per earlier success), `concurrency`
 * requests and their answers, their lines in a pool of `concurrency` + 4 reused Buffers, and the
 * sources' read-ahead.
 */
async function session(options: DirectOptions, open: SourceFactory): Promise<DirectSummary> {
  mkdirSync(options.resultsDir, { recursive: true });
  const files = readdirSync(options.resultsDir).filter((n) => DIRECT_FILE.test(n)).map((n) => path.join(options.resultsDir, n)).sort();
  let partialLinesCut = 0;
  for (const f of files) if (cutPartialLastLine(f) > 0) partialLinesCut++;
  const done = new DoneIds();
  const rejects = rejectsSink({ path: options.rejectsPath });
  const counts: SessionCounts = { skipped: 0, read: () => 0 };
  const limiter = new RateLimiter({ ...(options.rpm ? { rpm: options.rpm } : {}), ...(options.tpm ? { tpm: options.tpm } : {}) });
  const { resultsDir, rejectsPath, rpm, tpm, signal, onProgress, progressMs, syncEveryLines, syncEveryMs, ...send } = options;
  const sender = sendDirect({ ...send, limiter });
  let sink: ReturnType<typeof directResultsSink> | undefined;
  const progress = (): DirectProgress => ({ ...sender.stats, skipped: counts.skipped, rateLimitWaits: limiter.stats.waits });
  const timer = onProgress ? setInterval(() => onProgress(progress()), progressMs ?? 10_000).unref() : null;
  try {
    addResultFiles(done, files.filter((f) => f.endsWith('.output.jsonl')));
    sink = directResultsSink({ dir: resultsDir, ...(syncEveryLines ? { syncEveryLines } : {}), ...(syncEveryMs ? { syncEveryMs } : {}) });
    const write = sink.write;
    await pipeline(
      open(done, rejects, counts, new BufferPool((options.concurrency ?? 8) + POOLED_SPARE)),
      sender,
      async (results: AsyncIterable<DirectResult>) => {
        for await (const r of results) write(r);
      },
      ...(signal ? [{ signal }] : []),
    );
    await rejects.close();
  } catch (err) {
    await rejects.discard();
    throw err;
  } finally {
    if (timer) clearInterval(timer);
    done.close();
    await sink?.close();
  }
  const summary: DirectSummary = {
    ...progress(),
    read: counts.read(),
    rejects: rejects.counts,
    rejectsPath,
    outputPath: sink.counts.output > 0 ? sink.outputPath : null,
    errorsPath: sink.counts.errors > 0 ? sink.errorsPath : null,
    doneIds: done.size,
    doneIdBytes: done.bytes,
    partialLinesCut,
  };
  if (summary.read !== summary.skipped + summary.rejects.total + sink.counts.output + sink.counts.errors) {
    throw new BatchExplainError('E_COUNTS', `internal: ${summary.read} read but ${summary.skipped} skipped + ${summary.rejects.total} rejected + ${sink.counts.output} answered + ${sink.counts.errors} failed`);
  }
  return summary;
}
