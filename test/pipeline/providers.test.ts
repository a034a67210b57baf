import { describe, expect, it } from 'vitest';
import { openProvider } from '../../src/pipeline/providers.js';
import { startTestServer, tempDir } from '../helpers/server.js';

describe('openProvider', () => {
  it('azure: the dated api-version form and the v1 form both reach the server; the key stays out of describe', async () => {
    const key = 'sk-azure-hidden-value';
    const { server } = await startTestServer({ apiKey: key });
    try {
      const dated = await openProvider({ provider: 'azure', env: { AZURE_API_KEY: key, AZURE_API_URL: server.url, AZURE_API_VERSION: '2024-10-21', AZURE_ENGINE_NAME: 'dep' } });
      expect(dated.endpoint).toBe('/chat/completions');
      expect(dated.model).toBe('dep');
      expect(dated.describe).toMatch(/api-version 2024-10-21/);
      expect((await dated.client.batches.list()).data).toEqual([]);
      for (const env of [
        { AZURE_OPENAI_API_KEY: key, AZURE_OPENAI_ENDPOINT: `${server.url}/openai/v1` },
        { AZURE_API_KEY: key, AZURE_API_URL: server.url, AZURE_API_VERSION: 'v1' },
        { AZURE_API_KEY: key, AZURE_API_URL: server.url },
      ]) {
        const v1 = await openProvider({ provider: 'azure', env });
        expect(v1.describe).toMatch(/v1 API/);
        expect((await v1.client.batches.list()).data).toEqual([]);
        expect(v1.describe).not.toContain(key);
      }
      expect(dated.describe).not.toContain(key);
    } finally {
      await server.close();
    }
  });

  it('openai: OPENAI_API_KEY and OPENAI_BASE_URL', async () => {
    const { server } = await startTestServer({ apiKey: 'k' });
    try {
      const p = await openProvider({ provider: 'openai', env: { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: `${server.url}/v1` } });
      expect(p.endpoint).toBe('/v1/chat/completions');
      expect((await p.client.files.list()).data).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('names what is missing, without credentials', async () => {
    await expect(openProvider({ provider: 'azure', env: {} })).rejects.toThrow(/provider azure needs AZURE_API_KEY and AZURE_API_URL/);
    await expect(openProvider({ provider: 'openai', env: {} })).rejects.toThrow(/provider openai needs OPENAI_API_KEY/);
  });

  it('local: an in-process server whose data outlives it', async () => {
    const dir = await tempDir();
    const a = await openProvider({ provider: 'local', localDataDir: dir });
    const file = await a.client.files.create({ file: new File(['{}\n'], 'x.jsonl'), purpose: 'batch' });
    await a.close();
    const b = await openProvider({ provider: 'local', localDataDir: dir });
    try {
      expect((await b.client.files.retrieve(file.id)).id).toBe(file.id);
    } finally {
      await b.close();
    }
  });
});
