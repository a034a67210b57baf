// The README's first two commands are the newcomer's: install and run on the fixtures, then the
// tests. test/cli/merge-run.test.ts runs the first; .ci/run runs exactly the second.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');

describe("the README's first commands", () => {
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(read('README.md'))?.[1];

  it('are the install-and-run on the fixtures with the local provider, then npm test', () => {
    expect(firstBlock).toBe(
      'npm ci && npx batch-explain run --dataset fixtures/memes.jsonl --prompt armeme_explanation_english --output dataset_with_explanations.jsonl\n' +
      'npm test\n',
    );
  });

  it('.ci/run is npm ci and the README\'s test command, nothing else', () => {
    const commands = read('.ci/run').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#') && !l.startsWith('set ') && !l.startsWith('cd '));
    expect(commands).toEqual(['npm ci', firstBlock!.split('\n')[1]]);
  });
});
