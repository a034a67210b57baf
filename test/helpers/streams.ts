import { Readable } from 'node:stream';
import type { Reject } from '../../src/types.js';

/** A byte stream of `text` cut into chunks of `chunkSize` bytes (multi-byte characters get split). */
export function fromString(text: string | Buffer, chunkSize: number): Readable {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  return Readable.from(chunks, { objectMode: false });
}

export async function* fromArray<T>(items: Iterable<T>): AsyncGenerator<T> {
  for (const item of items) yield item;
}

export async function toArray<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

/** A rejects collector to pass as `onReject`. */
export function rejectsCollector(): { rejects: Reject[]; onReject: (r: Reject) => Promise<void> } {
  const rejects: Reject[] = [];
  return { rejects, onReject: async (r) => void rejects.push(r) };
}

/** Runs a stage over items, returning what it emits and what it rejects. */
export async function collect<I, O>(
  makeStage: (onReject: (r: Reject) => Promise<void>) => (source: AsyncIterable<I>) => AsyncIterable<O>,
  items: Iterable<I>,
): Promise<{ rows: O[]; rejects: Reject[] }> {
  const { rejects, onReject } = rejectsCollector();
  const rows = await toArray(makeStage(onReject)(fromArray(items)));
  return { rows, rejects };
}
