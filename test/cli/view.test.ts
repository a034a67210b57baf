import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));

describe('batch-explain view', () => {
  it('prints its URL on stdout, serves the index, stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI, 'view', '--input', path.join(fixtures, 'merged.jsonl'), '--port', '0', '--language', 'ar'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    try {
      const [first] = (await once(child.stdout, 'data')) as [Buffer];
      const url = first.toString().trim();
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = (await (await fetch(`${url}api/rows?flag=wrong_language`)).json()) as { total: number; rows: Array<{ id: string }> };
      expect(page.total).toBe(1);
      expect(page.rows[0]!.id).toBe('hm-42953');
      await expect.poll(() => stderr).toMatch(/view: 16 rows \(12 explained, 12 flagged\) indexed in [\d.]+ s; open http/);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await once(child, 'close');
    expect(code).toBe(143);
    expect(stderr).toMatch(/stopped by SIGTERM\. The viewer wrote nothing\./);
  });

  it('a bad flag is exit 2', async () => {
    const child = spawn(process.execPath, [CLI, 'view', '--input', path.join(fixtures, 'merged.jsonl'), '--port', '70000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    const [code] = await once(child, 'close');
    expect(code).toBe(2);
    expect(stderr).toMatch(/option port: expected a port number \(0 for any free one\), got 70000/);
  });
});
