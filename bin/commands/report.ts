import { existsSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { BatchExplainError, EXIT } from '../../src/errors.js';
import { FLAGS, type ExpectedScript, type Flag } from '../../src/core/quality/quality.js';
import { LANGUAGE_SCRIPT } from '../../src/core/requests/prompt-language.js';
import type { ReportResult } from '../../src/pipeline/report/report.js';
import type { QualityCheckOptions } from '../../src/core/quality/quality-checker.js';
import { bytesFlag } from '../flags.js';
import { formatBytes, formatCount } from '../format.js';
import { runCommand } from '../run-command.js';
import { print, printJson } from '../terminal.js';
import { jobLayout, rowMappingFlags, type MappingArgs } from '../mapping-flags.js';
import { recordedMapping } from '../../src/pipeline/job/job-mapping.js';

/** Flags of `report` that `view` shares: the merged file and the checks. */
export const qualityFlags = {
  input: { type: 'string', demandOption: true, describe: "merge's output (a file)" },
  errors: { type: 'string', describe: "merge's errors file, for why rows have no explanation (default <input>.errors.jsonl when it exists)" },
  field: { type: 'string', default: 'generated_explanation', describe: 'The field holding the explanation' },
  prompt: { type: 'string', describe: 'The prompt used (file or shipped name): its language is the one explanations must be in (wrong_language)' },
  language: { type: 'string', describe: 'Or the language explanations must be in: ar, en (any Latin-script language), fa, ur... (wrong_language is not checked without --prompt or --language)' },
  'min-words': { type: 'number', default: 40, describe: 'Fewer words: too_short' },
  'max-words': { type: 'number', default: 160, describe: 'More words: too_long' },
  'duplicate-memory': bytesFlag('duplicate-memory', 'Memory of the duplicate_text table (~1.5 million distinct explanations in 64 MiB)', 64 * 1024 * 1024),
  manifest: { type: 'string', describe: "The job's manifest, for where rows keep their id, label, image and text (default batches/manifest.jsonl when it exists)" },
  ...rowMappingFlags,
} as const;

export type QualityArgs = {
  input: string;
  errors?: string;
  field: string;
  prompt?: string;
  language?: string;
  'min-words': number;
  'max-words': number;
  'duplicate-memory': number;
  manifest?: string;
} & MappingArgs;

type ReportArgs = QualityArgs & { json: boolean; flagged?: string; flags?: string[] };

/** The checks' options from the flags; the errors file beside the input is found by its default name. */
export async function qualityOptions(args: QualityArgs): Promise<QualityCheckOptions & { input: string; errors?: string }> {
  let script: ExpectedScript | null = null;
  if (args.language !== undefined) {
    const s = LANGUAGE_SCRIPT[args.language.toLowerCase()];
    if (s === undefined) throw new BatchExplainError('E_OPTION', `--language ${JSON.stringify(args.language)}: expected one of ${Object.keys(LANGUAGE_SCRIPT).join(', ')}`);
    script = s;
  } else if (args.prompt !== undefined) {
    const { loadPromptFile } = await import('../../src/core/requests/prompt.js');
    const { packageRoot } = await import('../../src/core/io/package-root.js');
    const { promptScript } = await import('../../src/core/requests/prompt-language.js');
    const path = await import('node:path');
    script = promptScript((await loadPromptFile(args.prompt, path.join(packageRoot(), 'prompts'))).template);
  }
  const besideInput = `${args.input}.errors.jsonl`;
  const errors = args.errors ?? (existsSync(besideInput) ? besideInput : undefined);
  const layout = jobLayout(args, await recordedMapping(args.manifest ?? 'batches/manifest.jsonl'));
  const { format: _format, ...mapping } = layout ?? { format: 'jsonl' };
  return {
    input: args.input,
    ...(errors ? { errors } : {}),
    ...(layout ? { mapping } : {}),
    field: args.field,
    minWords: args['min-words'],
    maxWords: args['max-words'],
    script,
    duplicateMemory: args['duplicate-memory'],
  };
}

const SCRIPT_NAME: Record<ExpectedScript, string> = { arabic: 'Arabic script', latin: 'Latin script' };

/** The report as text: what `batch-explain report` prints without `--json`. */
export function formatReport(r: ReportResult): string {
  const out: string[] = [];
  const n = formatCount;
  out.push(`report: ${r.input}, ${formatBytes(r.bytes)}; ${r.errors ? `reasons from ${r.errors}` : 'no errors file: reasons unknown'}`);
  out.push(`rows: ${n(r.rows)} = ${n(r.explained)} explained + ${n(r.missing)} without an explanation`);
  if (r.missing) out.push(`without, by reason: ${Object.entries(r.byReason).map(([k, v]) => `${k} ${n(v)}`).join(', ')}`);
  out.push('', `flags (${n(r.flaggedRows)} rows flagged; a row can have several):`);
  const notes: Partial<Record<Flag, string>> = {
    too_short: `under ${r.checks.minWords} words`,
    too_long: `over ${r.checks.maxWords} words`,
    wrong_language: r.checks.script ? `not in ${SCRIPT_NAME[r.checks.script]}` : 'not checked: give --prompt or --language',
    duplicate_text: r.duplicates.groups ? `${plural(r.duplicates.groups, 'text', 'texts')} given to several rows` : '',
  };
  for (const f of FLAGS) out.push(`  ${f.padEnd(26)} ${n(r.byFlag[f]).padStart(10)}${notes[f] ? `   ${notes[f]}` : ''}`);
  if (r.duplicates.untrackedRows) out.push(`  (duplicate table full: ${n(r.duplicates.untrackedRows)} rows not checked for duplicate_text; raise --duplicate-memory)`);
  out.push('', 'by label:', `  ${'label'.padEnd(30)} ${'rows'.padStart(10)} ${'explained'.padStart(10)} ${'median words'.padStart(13)}`);
  for (const l of r.byLabel) out.push(`  ${clip(l.label, 30).padEnd(30)} ${n(l.rows).padStart(10)} ${n(l.explained).padStart(10)} ${(l.medianWords === null ? '-' : String(l.medianWords)).padStart(13)}`);
  if (r.explained) {
    const w = r.words;
    out.push('', `words of the explanations: min ${w.min}, median ${w.median}, mean ${w.mean}, max ${w.max}`);
    const bins = r.wordHistogram;
    const first = bins.findIndex((b) => b.rows > 0);
    const last = bins.length - 1 - [...bins].reverse().findIndex((b) => b.rows > 0);
    const top = Math.max(...bins.map((b) => b.rows));
    for (const b of bins.slice(first, last + 1)) {
      const bar = b.rows ? '█'.repeat(Math.max(1, Math.round((b.rows / top) * 40))) : '';
      out.push(`  ${(b.to === null ? `${b.from}+` : `${b.from}–${b.to}`).padStart(8)} ${bar} ${n(b.rows)}`);
    }
  }
  if (r.topRepeated.length) {
    out.push('', 'most repeated explanations:');
    for (const t of r.topRepeated) out.push(`  ${`${n(t.count)}×`.padStart(8)}  ${JSON.stringify(clip(t.text, 100))}${t.firstId === null ? '' : ` (first: ${t.firstId})`}`);
  }
  if (r.flagged) {
    const f = r.flagged;
    const left = [f.withoutId ? `${plural(f.withoutId, 'row', 'rows')} without an id` : '', f.notResubmittable ? `${plural(f.notResubmittable, 'row', 'rows')} that resubmitting would not help (not_sent, duplicate_id, pending)` : ''].filter(Boolean);
    out.push('', `flagged ids: ${f.path}: ${plural(f.ids, 'id', 'ids')}${left.length ? `; left out: ${left.join(', ')}` : ''}`);
    if (f.ids) out.push(`  next: batch-explain resubmit --dataset DATASET --prompt PROMPT --ids ${f.path}`);
  }
  return `${out.join('\n')}\n`;
}

function plural(n: number, one: string, many: string): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

function clip(s: string, width: number): string {
  const flat = s.replace(/\s+/g, ' ');
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: 'report',
  describe: 'Check the explanations of a merged file and print a summary (rows, reasons, flags, labels, word counts, repeats)',
  builder: (y: Argv) =>
    y
      .options({
        ...qualityFlags,
        json: { type: 'boolean', default: false, describe: 'The report as one JSON object (for scripts)' },
        flagged: { type: 'string', describe: 'Write the ids of flagged rows to this file (for resubmit --ids)' },
        flags: { type: 'string', array: true, choices: [...FLAGS], describe: 'Flags that put a row in --flagged (default: all)' },
      })
      .example('$0 report --input merged.jsonl --prompt armeme_explanation_arabic', '')
      .example('$0 report --input merged.jsonl --flagged flagged.jsonl --flags too_short wrong_language', 'then resubmit --ids flagged.jsonl') as unknown as Argv<ReportArgs>,
  handler: (args) =>
    runCommand(async (signal) => {
      const [{ report }, { mergedAsJsonl }] = await Promise.all([import('../../src/pipeline/report/report.js'), import('../../src/pipeline/report/merged-jsonl.js')]);
      const options = await qualityOptions(args);
      // A merged CSV, TSV, JSON or Parquet file is read as JSONL (a copy); the report names the file given.
      const merged = await mergedAsJsonl({ input: options.input, ...(options.errors ? { errors: options.errors } : {}), field: args.field, signal });
      let result;
      try {
        result = await report({
          ...options,
          input: merged.input,
          ...(merged.errors ? { errors: merged.errors } : {}),
          ...(args.flagged ? { flagged: args.flagged } : {}),
          ...(args.flags?.length ? { flaggedFlags: args.flags as Flag[] } : {}),
          signal,
        });
      } finally {
        await merged.dispose();
      }
      if (merged.converted) result = { ...result, input: options.input, errors: options.errors ?? null };
      args.json ? printJson(`${JSON.stringify(result, null, 2)}\n`) : print(formatReport(result));
      return EXIT.OK;
    }),
};
