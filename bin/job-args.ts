import { existsSync } from 'node:fs';
import path from 'node:path';
import { BatchExplainError } from '../src/errors.js';
import { jobConfigDigest } from '../src/pipeline/job/job-settings.js';
import { chooseJobFolder, datasetChange, datasetChangedMessage, describeJob, describeJobs, downloadedFiles, isEmptyStart, jobFolders, jobsOfResultFiles, MANIFEST_NAME, otherJobMessage, type JobFolder, type RunEvent } from '../src/pipeline/job/job.js';
import { Manifest, readManifestState, type ManifestState } from '../src/batch-api/manifest.js';
import { batchIdOfFile, listResultFiles } from '../src/pipeline/merge-sources.js';
import type { ProviderName } from '../src/pipeline/providers.js';
import type { BuildOptions } from '../src/pipeline/build.js';
import { jobSettings } from '../src/pipeline/job/job-settings.js';

/** Which job a command that builds requests (submit, run, resubmit) works on, and where. */

export interface JobChoice<O> {
  outDir: string;
  manifestPath: string;
  provider: ProviderName;
  /** The job's start, when the folder holds it already (a resume). */
  job?: RunEvent;
  /** What the folder's manifest holds (empty for a new job). */
  state?: ManifestState;
  /** Folders passed over because they hold other jobs (the job got a folder of its own). */
  passedOver: string[];
  /** The build options, for the chosen provider. */
  options: O;
}

/** The build options for a provider, and, to compare with a job, that job's start (its deployment and layout fill in flags not given). */
type BuildOptionsFor<O> = (provider: ProviderName, job?: RunEvent) => Promise<O>;

/**
 * Finds the job these flags describe. With `--out-dir` or `--manifest`, that folder: the job in it
 * resumes when its settings are these, and a folder holding another job is refused, naming each
 * setting that differs. Without them, among `batches`, `batches-2`…: the folder whose job has these
 * settings (it resumes), else a free one. Without `--provider`, a job's own provider is taken for
 * the comparison (a job submitted to OpenAI resumes there), and a new job goes to the local one.
 */
export async function chooseJob<O extends Omit<BuildOptions, 'outDir' | 'output'>>(
  flags: { 'out-dir'?: string; manifest?: string; provider?: ProviderName },
  optionsFor: BuildOptionsFor<O>,
): Promise<JobChoice<O>> {
  const explicit = flags.manifest !== undefined || flags['out-dir'] !== undefined;
  const candidates: JobFolder[] = explicit ? [await explicitFolder(flags)] : await jobFolders();
  const digest = (options: O, provider: ProviderName) => jobConfigDigest({ ...options, outDir: '', provider: { name: provider } });

  const matches: Array<{ folder: JobFolder; provider: ProviderName; options: O }> = [];
  for (const folder of candidates) {
    const run = folder.state.run;
    if (!run || (flags.provider !== undefined && flags.provider !== run.provider)) continue;
    const provider = run.provider as ProviderName;
    const options = await optionsFor(provider, run);
    if (digest(options, provider) === run.config) matches.push({ folder, provider, options });
  }
  if (matches.length > 1) {
    throw new BatchExplainError('E_OPTION', `these settings are those of ${matches.length} jobs here: ${matches.map((m) => `${m.folder.outDir} (${m.provider})`).join(', ')}; say which with --out-dir (or --provider)`);
  }
  const match = matches[0];
  if (match) {
    const change = await datasetChange(match.folder.state.run!, match.options.dataset);
    if (change) throw new BatchExplainError('E_OPTION', datasetChangedMessage(change, match.folder.outDir));
    return { outDir: match.folder.outDir, manifestPath: match.folder.manifestPath, provider: match.provider, job: match.folder.state.run!, state: match.folder.state, passedOver: [], options: match.options };
  }

  const provider = flags.provider ?? 'local';
  const options = await optionsFor(provider);
  if (explicit) {
    const folder = candidates[0]!;
    if (folder.state.run && !isEmptyStart(folder.state)) {
      throw new BatchExplainError('E_OPTION', otherJobMessage(folder.manifestPath, folder.state, jobSettings({ ...options, outDir: '', provider: { name: provider } }), options.templateSource && path.basename(options.templateSource)));
    }
    return { outDir: folder.outDir, manifestPath: folder.manifestPath, provider, passedOver: [], options };
  }
  const chosen = await chooseJobFolder(digest(options, provider));
  return { outDir: chosen.outDir, manifestPath: chosen.manifestPath, provider, passedOver: chosen.passedOver, options };
}

/**
 * The job a command after submit works on (status, retrieve, cancel, merge): `--manifest`, else
 * the only job folder here. Several jobs here: refused, listing them with the flag for each.
 */
export async function findJobManifest(manifest: string | undefined): Promise<string> {
  if (manifest !== undefined) return manifest;
  const jobs = (await jobFolders()).filter((f) => f.state.run || f.state.batches.size > 0);
  if (jobs.length === 1) return jobs[0]!.manifestPath;
  if (jobs.length === 0) throw new BatchExplainError('E_INPUT', `no job here: ${path.join('batches', MANIFEST_NAME)} not found (run submit first, or pass --manifest / --tracking-file)`);
  const lines = describeJobs(jobs);
  throw new BatchExplainError('E_OPTION', `${jobs.length} jobs here; say which with --manifest:\n${jobs.map((j, i) => `  --manifest ${j.manifestPath}   ${lines[i]!.slice(j.manifestPath.length + 1)}`).join('\n')}`);
}

export interface MergeInputs {
  results: string[];
  manifest?: Manifest;
  rejects?: string;
}

/**
 * What a standalone `merge` reads. `--manifest`: that job's downloads only (among `--results`
 * when given) and its rejects. `--results` alone: those files, refused when they are of several
 * jobs (known from the manifests near them). Neither: the one job here, else `./results`.
 */
export async function mergeInputs(args: { results?: string[]; manifest?: string; rejects?: string }): Promise<MergeInputs> {
  let manifestPath = args.manifest;
  let results = args.results;
  if (manifestPath !== undefined && !existsSync(manifestPath)) throw new BatchExplainError('E_INPUT', `--manifest ${manifestPath}: no such file`);
  // A job's folder given as results: that job's downloads (its shards are no results).
  if (manifestPath === undefined && results?.length === 1 && existsSync(path.join(results[0]!, MANIFEST_NAME))) {
    manifestPath = path.join(results[0]!, MANIFEST_NAME);
    results = undefined;
  }
  if (manifestPath === undefined && results === undefined) {
    const jobs = (await jobFolders()).filter((f) => f.state.batches.size > 0);
    if (jobs.length === 0) {
      if (existsSync('results')) return { results: ['results'], ...(args.rejects ? { rejects: args.rejects } : {}) };
      throw new BatchExplainError('E_OPTION', 'no job here (./batches) and no ./results: pass --results FILES_OR_FOLDERS, or --manifest');
    }
    manifestPath = await findJobManifest(undefined);
  }
  if (manifestPath === undefined) {
    const files = await listResultFiles(results!);
    const jobs = await jobsOfResultFiles(files);
    if (jobs.length > 1) {
      throw new BatchExplainError(
        'E_OPTION',
        `${results!.join(', ')} hold${results!.length === 1 ? 's' : ''} the results of ${jobs.length} jobs, which must not be mixed; say which with --manifest:\n` +
          jobs.map((j) => `  --manifest ${j.manifestPath}   ${describeJob({ outDir: path.dirname(j.manifestPath), manifestPath: j.manifestPath, state: j.state, number: 1 }).slice(j.manifestPath.length + 1)}`).join('\n'),
      );
    }
    return { results: results!, ...(args.rejects ? { rejects: args.rejects } : {}) };
  }
  const manifest = await Manifest.open(manifestPath);
  const own = (f: string) => manifest.state.batches.has(batchIdOfFile(f));
  const files = results === undefined ? downloadedFiles(manifest.state) : (await listResultFiles(results)).filter(own);
  const jobRejects = path.join(path.dirname(manifestPath), 'rejects.jsonl');
  const rejects = args.rejects ?? (existsSync(jobRejects) ? jobRejects : undefined);
  return { results: files, manifest, ...(rejects ? { rejects } : {}) };
}

async function explicitFolder(flags: { 'out-dir'?: string; manifest?: string }): Promise<JobFolder> {
  const manifestPath = flags.manifest ?? path.join(flags['out-dir']!, MANIFEST_NAME);
  const outDir = flags['out-dir'] ?? path.dirname(manifestPath);
  return { outDir, manifestPath, state: await readManifestState(manifestPath), number: 1 };
}
