import type { TestContext } from 'vitest';

/** Mounting a file system (a tiny tmpfs for a full disk, a read-only bind mount) needs root. */
export const isRoot = process.getuid?.() === 0;

/**
 * For a test that mounts file systems: it runs as root (CI and the test machines run as root);
 * elsewhere it is skipped, and the reason is printed (the only kind of skip in this suite).
 */
export function needsRoot(ctx: TestContext, what: string): void {
  if (isRoot) return;
  const reason = `needs root to ${what}; skipped: this process is not root (uid ${process.getuid?.() ?? '?'})`;
  console.warn(`skipped "${ctx.task.name}": ${reason}`);
  ctx.skip(reason);
}
