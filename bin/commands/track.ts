import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { BatchExplainError, EXIT } from '../../src/errors.js';
import { Manifest } from '../../src/batch-api/manifest.js';
import { readTrackingFile } from '../../src/batch-api/tracking-file.js';
import { nothingConfirmed } from '../../src/pipeline/job/job.js';
import { apiRetries, providerFlags, providerFromArgs, retryLog, type ProviderArgs } from '../provider-flags.js';
import { quietFlag } from '../flags.js';
import { formatCount } from '../format.js';
import { JOB_RESUME_HINT, runCommand } from '../run-command.js';
import { findJobManifest } from '../job-args.js';
import { deleteInputFlag, pollFlags, pollOptions } from './submit.js';
import type { DeleteInputFiles } from '../../src/batch-api/input-files.js';
import type { BatchState } from '../../src/batch-api/manifest.js';
import { progressFlags, progressFromArgs } from '../progress.js';
import { batchesSample } from '../progress-views.js';
import { say, print, printJson } from '../terminal.js';

/** `status`, `retrieve` and `cancel`: commands on the batches a manifest (or an original tracking file) knows. */

const trackFlags = {
  manifest: { type: 'string', describe: 'The job manifest (default: the one job in ./batches, ./batches-2…)' },
  'tracking-file': { type: 'string', describe: "The original scripts' batch_id,path file, instead of a manifest" },
  quiet: quietFlag,
} as const;

type TrackArgs = ProviderArgs & { manifest?: string; 'tracking-file'?: string; quiet: boolean };

/**
 * Opens the manifest, or for a tracking file a manifest beside it (`<file>.manifest.jsonl`) that
 * records what was seen and downloaded, seeded with the file's batches.
 */
async function openTracked(args: TrackArgs): Promise<Manifest> {
  if (args['tracking-file'] !== undefined) {
    const tracked = await readTrackingFile(args['tracking-file']);
    const manifest = await Manifest.open(`${args['tracking-file']}.manifest.jsonl`);
    for (const [id, b] of tracked.batches) if (!manifest.state.batches.has(id)) manifest.state.batches.set(id, b);
    return manifest;
  }
  const file = await findJobManifest(args.manifest);
  if (!existsSync(file)) throw new BatchExplainError('E_INPUT', `--manifest ${file}: no such file`);
  const manifest = await Manifest.open(file);
  if (manifest.state.batches.size === 0) throw new BatchExplainError('E_INPUT', `${file}: no batches recorded (run submit first, or pass --manifest / --tracking-file)`);
  return manifest;
}

function age(seconds: number | null): string {
  if (seconds === null) return '?';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${(seconds / 3600).toFixed(1)}h`;
}

export const statusCommand: CommandModule<object, TrackArgs & { json: boolean }> = {
  command: 'status',
  describe: 'Show the batches of a job, refreshed from the API',
  builder: (y: Argv) =>
    y
      .options({ ...providerFlags, ...trackFlags, json: { type: 'boolean', default: false, describe: 'One JSON object on stdout, for scripts' } })
      .example('$0 status', 'the batches of ./batches/manifest.jsonl')
      .example("$0 status --json | jq '.totals'", 'requests done, failed and total, for scripts') as unknown as Argv<TrackArgs & { json: boolean }>,
  handler: (args) =>
    runCommand(async (signal) => {
      const log = (s: string) => args.quiet || say(`${s}\n`);
      const manifest = await openTracked(args);
      const provider = await providerFromArgs(args, log, manifest.state.run, manifest.path, nothingConfirmed(manifest.state));
      try {
        const { batchStatus } = await import('../../src/pipeline/status.js');
        const rows = await batchStatus(provider.client, manifest, { signal });
        const totals = rows.reduce((t, r) => ({ total: t.total + r.total, completed: t.completed + r.completed, failed: t.failed + r.failed }), { total: 0, completed: 0, failed: 0 });
        const byStatus: Record<string, number> = {};
        for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
        if (args.json) {
          printJson(`${JSON.stringify({ batches: rows, totals, by_status: byStatus })}\n`);
        } else {
          const lines = [['batch', 'status', 'done', 'failed', 'total', 'age', 'downloaded', 'shard']];
          for (const r of rows) lines.push([r.batchId, r.requeued ? `${r.status} (re-queued)` : r.status, formatCount(r.completed), formatCount(r.failed), formatCount(r.total), age(r.ageSeconds), r.downloaded ? 'yes' : 'no', r.shard ?? '']);
          const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
          for (const l of lines) print(`${l.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
          print(
            `\n${rows.length} batch(es): ${Object.entries(byStatus).map(([s, n]) => `${n} ${s}`).join(', ')}; requests ${formatCount(totals.completed)} done, ${formatCount(totals.failed)} failed of ${formatCount(totals.total)}\n`,
          );
          for (const r of rows) if (r.errors) print(`${r.batchId}: ${r.errors}\n`);
        }
        return EXIT.OK;
      } finally {
        await manifest.close();
        await provider.close();
      }
    }),
};

type RetrieveArgs = TrackArgs & { 'out-dir'?: string; wait: boolean; 'poll-interval'?: number; 'max-poll-interval': number; 'delete-input-files': DeleteInputFiles; 'progress-interval': number };

export const retrieveCommand: CommandModule<object, RetrieveArgs> = {
  command: 'retrieve',
  describe: 'Download the output and error files of every finished batch (streamed to disk); --wait polls until all are finished',
  builder: (y: Argv) =>
    y
      .options({
        ...providerFlags,
        ...trackFlags,
        'out-dir': { type: 'string', describe: "Folder for <batch>.output.jsonl and <batch>.errors.jsonl (default: the job's folder's results/, ./results with --tracking-file; --output_dir also works)" },
        wait: { type: 'boolean', default: false, describe: 'Poll until every batch is finished' },
        ...pollFlags,
        ...deleteInputFlag,
        ...progressFlags,
      })
      .example('$0 retrieve --wait', "the batches of the job in ./batches into its folder's results/")
      .example('$0 retrieve --provider azure --env_file .env --tracking_file batch_tracking.txt --output_dir ./results', 'the original scripts\' tracking file') as unknown as Argv<RetrieveArgs>,
  handler: (args) =>
    runCommand(async (signal) => {
      const log = (s: string) => args.quiet || say(`${s}\n`);
      const manifest = await openTracked(args);
      const provider = await providerFromArgs(args, log, manifest.state.run, manifest.path, nothingConfirmed(manifest.state));
      // A terminal gets a live bar of the batches; elsewhere a line each time the figures change.
      const retries = apiRetries(args);
      const display = progressFromArgs(args, 'retrieve');
      let latest: readonly BatchState[] = [];
      if (display.live) display.start(() => batchesSample(latest));
      try {
        let last = '';
        const { retrieve } = await import('../../src/pipeline/retrieve.js');
        const summary = await retrieve({
          client: provider.client,
          manifest,
          outDir: args['out-dir'] ?? (args['tracking-file'] !== undefined ? 'results' : path.join(path.dirname(manifest.path), 'results')),
          wait: args.wait,
          ...pollOptions(args, provider.name),
          deleteInputFiles: args['delete-input-files'],
          signal,
          onRetry: retryLog('retrieve', provider, (s) => void (args.quiet || display.log(s))),
          ...(retries === undefined ? {} : { retries }),
          onDownload: (id, kind, f) => args.quiet || display.log(`retrieve: ${id} ${kind} → ${f.path} (${formatCount(f.lines)} lines)`),
          onProgress: (batches) => {
            latest = batches;
            if (display.live) return;
            const line = `retrieve: ${batchesSample(batches).text}`;
            if (line !== last) log(line);
            last = line;
          },
        });
        display.stop();
        for (const w of summary.warnings) log(`retrieve: warning: ${w}`);
        if (summary.pending.length > 0) {
          log(`retrieve: ${summary.pending.length} batch(es) still running; run again later, or with --wait`);
        }
        if (summary.requeued.length > 0) {
          log(`retrieve: ${summary.requeued.length} shard(s) re-queued after token_limit_exceeded (${summary.requeued.map((s) => s.shard.path).join(', ')}); run submit again with the same flags to send them (run does it by itself)`);
        }
        return EXIT.OK;
      } catch (err) {
        display.stop();
        throw err;
      } finally {
        await manifest.close();
        await provider.close();
      }
    }, { resumeHint: JOB_RESUME_HINT }),
};

export const cancelCommand: CommandModule<object, TrackArgs & { ids?: string[] }> = {
  command: 'cancel [ids..]',
  describe: 'Cancel the unfinished batches of a job (or the ones named)',
  builder: (y: Argv) =>
    y
      .options({ ...providerFlags, ...trackFlags })
      .positional('ids', { type: 'string', array: true, describe: 'Batch ids (default: every unfinished one)' })
      .example('$0 cancel', 'every unfinished batch of the job')
      .example('$0 cancel batch_abc123 --provider azure --env-file .env', 'one batch') as unknown as Argv<TrackArgs & { ids?: string[] }>,
  handler: (args) =>
    runCommand(async () => {
      const log = (s: string) => args.quiet || say(`${s}\n`);
      const manifest = await openTracked(args);
      const provider = await providerFromArgs(args, log, manifest.state.run, manifest.path, nothingConfirmed(manifest.state));
      try {
        const { cancelBatches } = await import('../../src/pipeline/status.js');
        const results = await cancelBatches(provider.client, manifest, args.ids?.length ? args.ids : undefined);
        for (const r of results) print(`${r.batchId}  ${r.status}\n`);
        if (results.length === 0) log('cancel: no unfinished batch');
        return results.some((r) => r.status.startsWith('not cancelled')) ? EXIT.FAILURE : EXIT.OK;
      } finally {
        await manifest.close();
        await provider.close();
      }
    }),
};
