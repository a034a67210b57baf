import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Generous: CI machines have 2 cores shared with other work; no test asserts on time.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
