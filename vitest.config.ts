import path from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files that take longest (one long test, or many CLI runs), in that order. vitest starts the
 * files it has timings of longest first, but has none after `npm ci` (they live in
 * node_modules/.vite): it then goes by size, and crash.test.ts (one test of ~40 s on 2 cores)
 * came 40th of 108, with a tail of it running alone near the end. Without timings for every
 * file, these go first.
 */
const SLOW_FIRST = ['test/cli/crash.test.ts', 'test/cli/jobs.test.ts', 'test/cli/jobs-edges.test.ts', 'test/cli/datasets.test.ts', 'test/cli/datasets-resubmit.test.ts', 'test/cli/output-folder.test.ts', 'test/cli/roundtrip.test.ts', 'test/cli/direct.test.ts', 'test/cli/build.test.ts'];

class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const key = (f: TestSpecification) => path.relative(this.ctx.config.root, f.moduleId).split(path.sep).join('/');
    if (sorted.every((f) => this.ctx.cache.getFileTestResults(`${f.project.name}:${path.relative(this.ctx.config.root, f.moduleId)}`))) return sorted;
    const rank = (f: TestSpecification) => {
      const i = SLOW_FIRST.indexOf(key(f));
      return i === -1 ? SLOW_FIRST.length : i;
    };
    // A stable sort: the others keep vitest's order.
    return sorted.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // As many files at once as there are cores (vitest's default is one fewer: a single file at a
    // time on 2 cores). Much of a CLI, server or browser test is waiting on another process.
    maxWorkers: '100%',
    // Files share their worker's modules instead of a fresh process each: on 2 cores, test/core,
    // test/stages and the viewer's API went from 49 s to 31 s of CPU (65 s to 34 s). So a test file
    // leaves nothing behind: real timers back (vi.useRealTimers), the working folder restored.
    isolate: false,
    sequence: { sequencer: SlowFirstSequencer },
    // One temporary folder for the run, removed at its end (test/global-tmp.ts).
    globalSetup: ['test/global-tmp.ts'],
    // Generous: CI machines have 2 cores shared with other work; no test asserts on time.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
