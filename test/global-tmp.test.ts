import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

describe('the test run', () => {
  it('keeps its temporary files in a folder of its own, which its global setup removes at the end (test/global-tmp.ts)', () => {
    expect(path.basename(tmpdir())).toMatch(/^batch-explain-tests-/);
  });
});
