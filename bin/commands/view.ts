import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { EXIT } from '../../src/errors.js';
import { formatCount } from '../format.js';
import { runCommand } from '../run-command.js';
import { qualityFlags, qualityOptions, type QualityArgs } from './report.js';
import { say, print } from '../terminal.js';

type ViewArgs = QualityArgs & { 'image-root'?: string; confine: boolean; port: number; quiet: boolean };

export const viewCommand: CommandModule<object, ViewArgs> = {
  command: 'view',
  describe: 'A local web viewer of a merged file on 127.0.0.1: rows with their image, label, text, explanation and flags; filters, search, marks',
  builder: (y: Argv) =>
    y
      .options({
        ...qualityFlags,
        'image-root': { type: 'string', describe: "Base of relative img_path (default: the input's folder)" },
        confine: { type: 'boolean', default: false, describe: 'Show no image that resolves outside --image-root (.., absolute paths, symlinks leading out)' },
        port: { type: 'number', default: 8766, describe: 'Port on 127.0.0.1; 0 takes a free one' },
        quiet: { type: 'boolean', default: false, describe: 'Print only the URL' },
      })
      .example('$0 view --input merged.jsonl --prompt armeme_explanation_arabic', 'then open the printed URL') as unknown as Argv<ViewArgs>,
  handler: (args) =>
    runCommand(async (signal) => {
      const [{ startViewer }, { mergedAsJsonl }] = await Promise.all([import('../../src/viewer/server.js'), import('../../src/pipeline/report/merged-jsonl.js')]);
      if (!args.quiet) say(`view: indexing ${args.input}…\n`);
      const options = await qualityOptions(args);
      // A merged CSV, TSV, JSON or Parquet file is shown from a JSONL copy (rows numbered by record); its images resolve from its own folder.
      const merged = await mergedAsJsonl({ input: options.input, ...(options.errors ? { errors: options.errors } : {}), field: args.field, signal });
      let viewer;
      try {
        viewer = await startViewer({
          ...options,
          input: merged.input,
          ...(merged.errors ? { errors: merged.errors } : {}),
          ...(args['image-root'] ? { imageRoot: args['image-root'] } : merged.converted ? { imageRoot: path.dirname(path.resolve(options.input)) } : {}),
          ...(merged.converted ? { shownAs: { input: options.input, ...(options.errors ? { errors: options.errors } : {}) } } : {}),
          confine: args.confine,
          port: args.port,
          signal,
        });
      } catch (err) {
        await merged.dispose();
        throw err;
      }
      // The URL on stdout (for scripts), the rest on stderr.
      print(`${viewer.url}/\n`);
      if (!args.quiet) {
        const s = viewer.summary;
        say(
          `view: ${formatCount(s.rows)} rows (${formatCount(s.explained)} explained, ${formatCount(s.flaggedRows)} flagged) indexed in ${viewer.indexSeconds.toFixed(1)} s; ` +
            `open ${viewer.url}/ (Ctrl-C stops)${viewer.thumbnails ? '' : '; sharp is not installed: thumbnails are the original images'}\n`,
        );
      }
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      await viewer.close();
      await merged.dispose();
      return EXIT.OK;
    }, { resumeHint: 'The viewer wrote nothing.' }),
};
