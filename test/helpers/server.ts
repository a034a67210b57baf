import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { startBatchServer, type BatchServer, type BatchServerOptions } from '../../src/server/server.js';

export async function tempDir(prefix = 'be-server-'): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

/** A local server in a fresh data folder and an official client for it. */
export async function startTestServer(options: Partial<BatchServerOptions> = {}): Promise<{ server: BatchServer; client: OpenAI; dataDir: string }> {
  const dataDir = options.dataDir ?? (await tempDir());
  const server = await startBatchServer({ ...options, dataDir });
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: options.apiKey ?? 'sk-local-test', maxRetries: 0 });
  return { server, client, dataDir };
}

/** A request line for `/v1/chat/completions`. */
export function requestLine(customId: string, overrides: { model?: string; url?: string; text?: string } = {}): string {
  return JSON.stringify({
    custom_id: customId,
    method: 'POST',
    url: overrides.url ?? '/v1/chat/completions',
    body: {
      model: overrides.model ?? 'gpt-4o',
      messages: [{ role: 'user', content: [{ type: 'text', text: `A human expert labelled this meme as: propaganda\nText extracted: ${overrides.text ?? customId}` }] }],
      max_tokens: 100,
    },
  });
}

/** Writes lines to a temporary JSONL file and returns its path. */
export async function jsonlFile(lines: string[], name = 'input.jsonl'): Promise<string> {
  const file = path.join(await tempDir('be-input-'), name);
  await writeFile(file, lines.length ? `${lines.join('\n')}\n` : '');
  return file;
}

const TERMINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);

/** Polls a batch until it is terminal (or `until` says so). */
export async function waitForBatch(client: OpenAI, id: string, until: (b: OpenAI.Batches.Batch) => boolean = (b) => TERMINAL.has(b.status)): Promise<OpenAI.Batches.Batch> {
  for (let i = 0; i < 3000; i++) {
    const batch = await client.batches.retrieve(id);
    if (until(batch)) return batch;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`batch ${id} did not get there`);
}

export async function fileText(client: OpenAI, id: string): Promise<string> {
  return (await client.files.content(id)).text();
}
