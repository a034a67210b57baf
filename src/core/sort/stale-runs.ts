import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Folders of runs are named `batch-explain-sort-<pid>-XXXXXX`: the pid tells whose they are. */
const RUNS_PREFIX = 'batch-explain-sort-';

/** The start of this process's run folder names (mkdtemp adds the rest). */
export function runsFolderPrefix(): string {
  return `${RUNS_PREFIX}${process.pid}-`;
}

/**
 * Removes the run folders in `tmpDir` left by sorts whose process is gone (killed: no cleanup
 * ran). Folders of running processes are left alone. Returns how many were removed.
 */
export function removeStaleRuns(tmpDir: string = tmpdir()): number {
  let names: string[];
  try {
    names = readdirSync(tmpDir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const m = /^batch-explain-sort-(\d+)-/.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    rmSync(path.join(tmpDir, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
