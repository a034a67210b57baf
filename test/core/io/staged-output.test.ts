import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PartialFileOutput, StreamOutput, type StagedOutput } from '../../../src/core/io/staged-output.js';
import { tempDir } from '../../helpers/server.js';
import { needsRoot } from '../../helpers/root.js';

/**
 * Writes `pieces` the way the merge does: as ranges of a buffer it reuses at once (the bytes
 * around and the range itself are overwritten after each write), draining whenever the output
 * says it is full.
 */
async function writeAll(out: StagedOutput, pieces: Buffer[]): Promise<void> {
  let reused = Buffer.alloc(0);
  for (const p of pieces) {
    if (reused.length < p.length + 8) reused = Buffer.alloc(p.length + 8);
    reused.fill(0x7c);
    p.copy(reused, 4);
    out.write(reused, 4, 4 + p.length);
    reused.fill(0x23);
    if (out.full) await out.drain();
  }
}

const pieces = Array.from({ length: 6000 }, (_, i) => Buffer.from(`${i}:${'ميم'.repeat(i % 300)}\n`));
const expected = Buffer.concat(pieces);

describe('PartialFileOutput', () => {
  it('writes every byte in order across many blocks and background syncs, visible only once closed', async () => {
    const dir = await tempDir('be-out-');
    const file = path.join(dir, 'out.jsonl');
    const out = new PartialFileOutput(file, { syncEvery: 64 * 1024 });
    await writeAll(out, [...pieces, Buffer.alloc(3 << 20, 0x61)]); // and one piece larger than a stage
    expect(existsSync(file)).toBe(false);
    await out.close();
    expect((await readFile(file)).equals(Buffer.concat([expected, Buffer.alloc(3 << 20, 0x61)]))).toBe(true);
    expect(await readdir(dir)).toEqual(['out.jsonl']);
  });

  it('leaves nothing behind when discarded', async () => {
    const dir = await tempDir('be-out-');
    const out = new PartialFileOutput(path.join(dir, 'out.jsonl'));
    await writeAll(out, pieces);
    await out.discard();
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports a write that fails among the blocks being written (a full disk: a 3 MiB tmpfs), and discards the rest', async (ctx) => {
    needsRoot(ctx, 'mount a 3 MiB tmpfs');
    const dir = await tempDir('be-out-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', dir]);
    try {
      const out = new PartialFileOutput(path.join(dir, 'out.jsonl'));
      // 12 MiB in 1 MiB stages, several written at once: one of the writes runs out of room.
      const writing = (async () => {
        for (let i = 0; i < 12; i++) {
          out.write(Buffer.alloc(1 << 20, 0x61 + i));
          await out.drain();
        }
        await out.close();
      })();
      await expect(writing).rejects.toThrow(/ENOSPC/);
      await out.discard();
      expect(await readdir(dir)).toEqual([]);
    } finally {
      execFileSync('umount', ['-l', dir]);
    }
  });

  it('reports a file it cannot open at the first drain or close', async () => {
    const dir = await tempDir('be-out-');
    const out = new PartialFileOutput(path.join(dir, 'missing-folder', 'out.jsonl'));
    out.write(Buffer.from('x'));
    await expect(out.close()).rejects.toThrow(/ENOENT/);
  });
});

describe('StreamOutput', () => {
  it('hands whole blocks to the stream and waits for drain', async () => {
    const stream = new PassThrough({ highWaterMark: 1024 });
    const chunks: Buffer[] = [];
    const reading = (async () => {
      for await (const c of stream) chunks.push(c as Buffer);
    })();
    const out = new StreamOutput(stream);
    await writeAll(out, pieces);
    await out.close();
    stream.end();
    await reading;
    expect(Buffer.concat(chunks).equals(expected)).toBe(true);
  });
});
