import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';

describe('the command as a user runs it (through its shebang)', () => {
  it("starts Node with the CLI's V8 flags and glibc's arena count and mmap threshold fixed", async () => {
    const dir = await tempDir('be-shebang-');
    // Executed itself, not through `node`: the kernel reads the shebang, `env` sets the variables and becomes node (same pid).
    const child = spawn(CLI, ['serve', '--port', '0', '--data-dir', dir, '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`serve exited ${code}`)));
      });
      const environ = (await readFile(`/proc/${child.pid}/environ`, 'utf8')).split('\0');
      expect(environ).toContain('MALLOC_ARENA_MAX=2');
      expect(environ).toContain('MALLOC_MMAP_THRESHOLD_=131072');
      const argv = (await readFile(`/proc/${child.pid}/cmdline`, 'utf8')).split('\0');
      expect(argv).toEqual(expect.arrayContaining(['--expose-gc', '--max-semi-space-size=8', '--heap-growing-percent=20', CLI, 'serve']));
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
  });
});
