import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { packageWorker, WorkerPool } from '../../../src/core/threads/worker-pool.js';

type Message = { op: string; value?: number; ms?: number; buffer?: ArrayBuffer };
type Reply = { value?: number; threadId?: number; buffer?: ArrayBuffer };
const pool = (threads: number) => new WorkerPool<Message, Reply>({ url: new URL('./echo-worker.js', import.meta.url), threads, name: 'echo' });

describe('WorkerPool', () => {
  it('answers each call with its own reply, on the least busy thread', async () => {
    const p = pool(2);
    try {
      const calls = [1, 2, 3, 4].map((value) => p.call({ op: 'echo', value }));
      const replies = await Promise.all(calls);
      expect(replies.map((r) => r.value)).toEqual([1, 2, 3, 4]);
      // Both threads idle: the first call takes one, the second the other.
      expect(replies[0]!.threadId).not.toBe(replies[1]!.threadId);
      expect(new Set(replies.map((r) => r.threadId)).size).toBe(2);
    } finally {
      await p.close();
    }
  });

  it('hands buffers over and back without a copy', async () => {
    const p = pool(1);
    try {
      const buffer = new Uint8Array([41, 0, 0]).buffer;
      const reply = await p.call({ op: 'transfer', buffer }, [buffer]);
      expect(buffer.byteLength).toBe(0); // detached here: it was moved, not copied
      expect([...new Uint8Array(reply.buffer!)]).toEqual([42, 0, 0]);
    } finally {
      await p.close();
    }
  });

  it('rejects the call whose handler threw, and goes on answering the others', async () => {
    const p = pool(1);
    try {
      await expect(p.call({ op: 'throw' })).rejects.toThrow(/^echo thread: Error: asked to throw/);
      await expect(p.call({ op: 'echo', value: 7 })).resolves.toMatchObject({ value: 7 });
    } finally {
      await p.close();
    }
  });

  it('fails the calls pending and every later one when a thread exits', async () => {
    const p = pool(1);
    try {
      await expect(p.call({ op: 'exit' })).rejects.toThrow('echo thread exited (3)');
      await expect(p.call({ op: 'echo', value: 1 })).rejects.toThrow('echo thread exited (3)');
    } finally {
      await p.close();
    }
  });

  it('rejects the calls still waiting when closed, and every later one', async () => {
    const p = pool(1);
    const waiting = p.call({ op: 'wait', ms: 200 });
    await p.close();
    await expect(waiting).rejects.toThrow('echo: closed');
    await expect(p.call({ op: 'echo' })).rejects.toThrow('echo: closed');
    await p.close();
  });

  it('starts this package\'s workers from their compiled copies under dist/src, wherever the caller runs from', () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    for (const worker of ['core/io/file-reader-worker.js', 'core/results/result-resolve-worker.js', 'core/results/result-index-worker.js', 'core/shards/hash-worker.js']) {
      const file = fileURLToPath(packageWorker(worker));
      expect(file).toBe(path.join(root, 'dist', 'src', worker));
      expect(existsSync(file)).toBe(true);
    }
  });
});
