import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';

const memes = fileURLToPath(new URL('../../fixtures/memes.jsonl', import.meta.url));

describe('a bad flag value of a job command', () => {
  // The local provider is a server inside the process: were it opened before the flags were
  // checked, the command would print the error and then never exit.
  // Twelve short processes, independent (each its own folder): at once, up to vitest's 5 at a time.
  for (const command of ['submit', 'run', 'resubmit']) {
    it.concurrent.each([
      ['--max-active-batches', '0', /--max-active-batches: expected a positive integer, got 0/],
      ['--max-enqueued-tokens', '1.5', /--max-enqueued-tokens: expected a positive integer, got 1\.5/],
      ['--max-cost', '-1', /--max-cost: expected an amount of USD of 0 or more, got -1/],
      ['--prices', '/nonexistent/prices.json', /--prices \/nonexistent\/prices\.json: ENOENT/],
    ])(`${command} ${'%s'} %s: one line, exit 2, and the process ends`, async (flag, value, message) => {
      const dir = await tempDir('be-flags-');
      const extra = command === 'resubmit' ? ['--from', 'errors.jsonl'] : [];
      const r = await runCli([command, '--dataset', memes, '--prompt', 'armeme_explanation_english', flag, value, ...extra], { cwd: dir });
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(2);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }
});
