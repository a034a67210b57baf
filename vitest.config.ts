import { defineConfig } from 'vitest/config';

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
    // Generous: CI machines have 2 cores shared with other work; no test asserts on time.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
