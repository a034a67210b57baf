import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { readManifestState, type ManifestEvent, type ManifestState } from '../../batch-api/manifest.js';
import { batchIdOfFile } from '../merge-sources.js';

/**
 * Jobs and their folders. A job is its manifest: the shards, downloads and errors it writes are
 * found through it, so two jobs never read each other's files. `run` and `submit` without
 * `--out-dir` put a job in `batches`, or, when that folder holds another job, in `batches-2`,
 * `batches-3`…, and find it there again by its settings to resume it.
 */

export const DEFAULT_JOB_FOLDER = 'batches';
export const MANIFEST_NAME = 'manifest.jsonl';

export type RunEvent = Extract<ManifestEvent, { type: 'run' }>;

export interface JobFolder {
  outDir: string;
  manifestPath: string;
  state: ManifestState;
  /** 1 for `base`, N for `base-N`. */
  number: number;
}

/** The job folders `base`, `base-2`, `base-3`… that exist beside each other, in that order (with their manifests, read only). */
export async function jobFolders(base = DEFAULT_JOB_FOLDER): Promise<JobFolder[]> {
  const parent = path.dirname(base);
  const name = path.basename(base);
  const names = await readdir(parent).catch(() => [] as string[]);
  const numbered = names
    .map((n) => ({ n, number: n === name ? 1 : new RegExp(`^${escapeRegExp(name)}-(\\d+)$`).exec(n)?.[1] }))
    .filter((e): e is { n: string; number: number | string } => e.number !== undefined)
    .map((e) => ({ outDir: path.join(parent, e.n), number: Number(e.number) }))
    .sort((a, b) => a.number - b.number);
  const folders: JobFolder[] = [];
  for (const { outDir, number } of numbered) {
    if (!(await stat(outDir).then((s) => s.isDirectory(), () => false))) continue;
    const manifestPath = path.join(outDir, MANIFEST_NAME);
    folders.push({ outDir, manifestPath, state: await readManifestState(manifestPath), number });
  }
  return folders;
}

/**
 * A start that recorded nothing but itself (no shard, no batch): what a failed start left. Its
 * folder holds nothing of value, and another job may take it.
 */
export function isEmptyStart(state: ManifestState): boolean {
  return state.shards.size === 0 && state.batches.size === 0;
}

/** What a job sent to its provider, in words: whether a folder is safe to reuse. */
export function sentToProvider(state: ManifestState): string {
  const shards = [...state.shards.values()];
  const uploaded = shards.filter((s) => s.fileId !== undefined).length;
  const started = shards.filter((s) => s.fileId === undefined && s.uploadName !== undefined).length;
  if (state.batches.size > 0) return `${state.batches.size} batch${state.batches.size === 1 ? '' : 'es'} created`;
  if (uploaded > 0) return `${uploaded} shard${uploaded === 1 ? '' : 's'} uploaded, no batch created`;
  if (started > 0) return `no upload confirmed (${started} started; the provider may hold a file), no batch created`;
  return `nothing uploaded (${shards.length} shard${shards.length === 1 ? '' : 's'} built)`;
}

/** Whether a job has sent nothing that the provider confirmed: no file id, no batch. */
export function nothingConfirmed(state: ManifestState): boolean {
  return state.batches.size === 0 && ![...state.shards.values()].some((s) => s.fileId !== undefined);
}

/** A dataset file as a job started from it: size, time of change, and the digest of its bytes. */
export interface DatasetFingerprint {
  bytes: number;
  mtime_ms: number;
  sha256: string;
}

/** The fingerprint of a dataset file (read once, streamed), or null for stdin and pipes. */
export async function datasetFingerprint(file: string): Promise<DatasetFingerprint | null> {
  if (file === '-') return null;
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) return null;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return { bytes: info.size, mtime_ms: Math.round(info.mtimeMs), sha256: hash.digest('hex') };
}

/**
 * How a job's dataset changed since the job started from it, or null. Size and time first; when
 * either differs, the bytes (a file copied or touched is the same dataset). A job resumed on an
 * edited dataset would put its answers on rows they were not made for.
 */
export async function datasetChange(run: RunEvent, file: string): Promise<string | null> {
  const was = run.dataset_file;
  if (!was || file === '-') return null;
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) return null;
  if (info.size === was.bytes && Math.round(info.mtimeMs) === was.mtime_ms) return null;
  if (info.size === was.bytes && (await datasetFingerprint(file))?.sha256 === was.sha256) return null;
  return `${file} changed since the job started from it (${was.bytes.toLocaleString('en-US')} → ${info.size.toLocaleString('en-US')} bytes, modified ${new Date(info.mtimeMs).toISOString()})`;
}

/** The refusal of a job whose dataset changed: what to do instead. */
export function datasetChangedMessage(change: string, outDir: string): string {
  return (
    `${change}: the job in ${outDir}'s answers would not fit the rows as they are now. ` +
    `To send the dataset as it is now, start a new job with --out-dir and a new folder (every row is sent again); to finish the job in ${outDir}, put the file back as it was`
  );
}

/** The settings that differ between a job's record and new ones, as `name: old → new`. */
export function settingsDiff(run: RunEvent, now: Record<string, unknown>, nowPrompt?: string): string[] {
  if (!run.settings) return ['the settings (this manifest was written by an older version, which kept only their digest)'];
  const names = [...new Set([...Object.keys(run.settings), ...Object.keys(now)])];
  const diffs: string[] = [];
  for (const name of names) {
    const was = run.settings[name];
    const is = now[name];
    if (JSON.stringify(was) === JSON.stringify(is)) continue;
    // The prompt by the name it was given when both have one: its text is long.
    if (name === 'template' && run.prompt && nowPrompt && run.prompt !== nowPrompt) diffs.push(`prompt: ${run.prompt} → ${nowPrompt}`);
    else diffs.push(`${name}: ${shown(was)} → ${shown(is)}`);
  }
  return diffs;
}

/** Why a job's folder refuses other settings: each one that differs, and what was sent. */
export function otherJobMessage(manifestPath: string, state: ManifestState, now: Record<string, unknown>, nowPrompt?: string): string {
  const run = state.run!;
  return (
    `${manifestPath} belongs to another job (run ${run.run_id} of ${run.at}), whose settings differ: ${settingsDiff(run, now, nowPrompt).join('; ')}. ` +
    `Sent by that job so far: ${sentToProvider(state)}. Leave out --out-dir and --manifest to get a folder of its own, ` +
    'give another --out-dir, or the same settings to resume it'
  );
}

export interface ChosenFolder {
  outDir: string;
  manifestPath: string;
  /** The folder holds this job already: it resumes. */
  resumed: boolean;
  /** Folders passed over because they hold other jobs. */
  passedOver: string[];
}

/**
 * The folder of the job whose settings digest is `config`, among `base`, `base-2`…: the one that
 * holds it, else the first free one (no manifest, or a start that recorded nothing), else the
 * next number.
 */
export async function chooseJobFolder(config: string, base = DEFAULT_JOB_FOLDER): Promise<ChosenFolder> {
  const folders = await jobFolders(base);
  const own = folders.find((f) => f.state.run?.config === config);
  const taken = folders.filter((f) => f.state.run && !isEmptyStart(f.state)).map((f) => f.outDir);
  if (own) return { outDir: own.outDir, manifestPath: own.manifestPath, resumed: true, passedOver: [] };
  const free = folders.find((f) => !f.state.run || isEmptyStart(f.state));
  const outDir = free?.outDir ?? (!folders.some((f) => f.number === 1) ? base : `${base}-${Math.max(...folders.map((f) => f.number)) + 1}`);
  return { outDir, manifestPath: path.join(outDir, MANIFEST_NAME), resumed: false, passedOver: taken };
}

/** One line naming a job, for lists: its folder, dataset, prompt, provider and start. */
export function describeJob(folder: JobFolder): string {
  const run = folder.state.run;
  if (!run) return `${folder.manifestPath} (no job recorded)`;
  return `${folder.manifestPath} (dataset ${run.dataset}${run.prompt ? `, prompt ${run.prompt}` : ''}, provider ${run.provider}, model ${run.model}, started ${run.at})`;
}

/**
 * Lines naming several jobs, each with {@link describeJob}'s words and the settings in which it
 * differs from the others (two jobs of one dataset and prompt may differ only in `maxTokens`).
 */
export function describeJobs(folders: JobFolder[]): string[] {
  const settings = folders.map((f) => f.state.run?.settings ?? {});
  const names = [...new Set(settings.flatMap((s) => Object.keys(s)))].filter((n) => n !== 'template' && n !== 'dataset' && new Set(settings.map((s) => JSON.stringify(s[n]))).size > 1);
  return folders.map((f, i) => {
    const own = names.map((n) => `${n} ${shown(settings[i]![n])}`);
    return own.length ? `${describeJob(f).slice(0, -1)}, ${own.join(', ')})` : describeJob(f);
  });
}

/**
 * The result files a job downloaded, in the order its batches were created (a later round's
 * answers after the first's): what the merge of the job reads, and nothing else.
 */
export function downloadedFiles(state: ManifestState): string[] {
  const files: string[] = [];
  for (const b of state.batches.values()) {
    if (b.downloaded?.output) files.push(b.downloaded.output.path);
    if (b.downloaded?.error) files.push(b.downloaded.error.path);
  }
  return files;
}

export interface ResultJob {
  manifestPath: string;
  state: ManifestState;
  /** The files among those given that hold its batches' results. */
  files: string[];
}

/**
 * The jobs whose batches the result `files` are of, known from the manifests near them: in each
 * file's folder, its parent, and the parent's sub-folders (`batches/results/…` and the older
 * `./results` beside `./batches`, `./batches-2`…). Files of no known job are not listed.
 */
export async function jobsOfResultFiles(files: string[]): Promise<ResultJob[]> {
  const manifests = new Set<string>();
  for (const folder of new Set(files.map((f) => path.dirname(path.resolve(f))))) {
    const parent = path.dirname(folder);
    manifests.add(path.join(folder, MANIFEST_NAME)).add(path.join(parent, MANIFEST_NAME));
    for (const entry of await readdir(parent, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory()) manifests.add(path.join(parent, entry.name, MANIFEST_NAME));
    }
  }
  const jobs: ResultJob[] = [];
  for (const manifestPath of manifests) {
    const state = await readManifestState(manifestPath).catch(() => null);
    if (!state || state.batches.size === 0) continue;
    const own = files.filter((f) => state.batches.has(batchIdOfFile(f)));
    if (own.length > 0) jobs.push({ manifestPath: path.relative('.', manifestPath) || manifestPath, state, files: own });
  }
  return jobs;
}

function shown(value: unknown): string {
  if (value === undefined) return '(unset)';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
