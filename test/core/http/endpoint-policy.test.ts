import { describe, expect, it } from 'vitest';
import { chooseApiKey, isLoopbackHost, plainHttpSecretProblem, safeUrl } from '../../../src/core/http/endpoint-policy.js';

describe('chooseApiKey', () => {
  const env = { OPENAI_API_KEY: 'sk-openai-1', VLLM_KEY: 'vllm-2' };

  it('sends OPENAI_API_KEY, unnamed, to https://api.openai.com only', () => {
    expect(chooseApiKey({ baseUrl: 'https://api.openai.com/v1', env })).toEqual({ apiKey: 'sk-openai-1', variable: 'OPENAI_API_KEY' });
    expect(chooseApiKey({ baseUrl: 'https://API.openai.com/v1/chat/completions', env })).toMatchObject({ apiKey: 'sk-openai-1' });
    for (const baseUrl of ['http://api.openai.com/v1', 'https://api.openai.com.evil.example/v1', 'https://lab-box:8000/v1', 'http://127.0.0.1:8000/v1', 'https://user:pw@proxy.example/v1']) {
      const choice = chooseApiKey({ baseUrl, env });
      expect(choice.apiKey, baseUrl).toBeUndefined();
      expect(choice.note, baseUrl).toMatch(/OPENAI_API_KEY is set but not sent to .*--api-key-env OPENAI_API_KEY sends it/);
      expect(choice.note, baseUrl).not.toMatch(/pw|sk-openai/);
    }
    // Nothing set, nothing to say.
    expect(chooseApiKey({ baseUrl: 'http://127.0.0.1:8000/v1', env: {} })).toEqual({});
  });

  it('sends the variable --api-key-env names, to any host, and refuses one that is not set', () => {
    expect(chooseApiKey({ baseUrl: 'http://127.0.0.1:8000/v1', apiKeyEnv: 'VLLM_KEY', env })).toEqual({ apiKey: 'vllm-2', variable: 'VLLM_KEY' });
    expect(chooseApiKey({ baseUrl: 'https://lab-box/v1', apiKeyEnv: 'OPENAI_API_KEY', env })).toEqual({ apiKey: 'sk-openai-1', variable: 'OPENAI_API_KEY' });
    expect(() => chooseApiKey({ baseUrl: 'https://lab-box/v1', apiKeyEnv: 'MISSING', env })).toThrow(/--api-key-env MISSING: the variable is not set/);
    expect(() => chooseApiKey({ baseUrl: 'https://lab-box/v1', apiKeyEnv: 'EMPTY', env: { EMPTY: '' } })).toThrow(/not set \(or empty\)/);
    expect(() => chooseApiKey({ baseUrl: 'https://lab-box/v1', apiKeyEnv: ' ', env })).toThrow(/--api-key-env: expected the name/);
  });
});

describe('isLoopbackHost', () => {
  it('knows this machine by name and by loopback address, and nothing else', () => {
    for (const host of ['localhost', 'LOCALHOST', 'localhost.', 'vllm.localhost', '127.0.0.1', '127.255.0.9', '[::1]', '::1', '[::ffff:127.0.0.1]']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['lab-box', 'localhost.example.com', 'mylocalhost', '10.0.0.1', '192.168.1.2', '0.0.0.0', '[::]', '[fe80::1]', '[::ffff:10.0.0.1]', 'api.openai.com']) expect(isLoopbackHost(host), host).toBe(false);
  });
});

describe('plainHttpSecretProblem', () => {
  it('refuses a key or URL credentials over plain http to another machine, unless allowed', () => {
    const url = (s: string) => new URL(s);
    expect(plainHttpSecretProblem(url('http://lab-box/v1'), true, false)).toMatch(/an API key would cross the network unencrypted to lab-box/);
    expect(plainHttpSecretProblem(url('http://u:p@lab-box/v1'), false, false)).toMatch(/the credentials in the URL/);
    expect(plainHttpSecretProblem(url('http://lab-box/v1'), false, false)).toBeNull();
    expect(plainHttpSecretProblem(url('http://lab-box/v1'), true, true)).toBeNull();
    expect(plainHttpSecretProblem(url('https://lab-box/v1'), true, false)).toBeNull();
    expect(plainHttpSecretProblem(url('http://u:p@127.0.0.1:8000/v1'), true, false)).toBeNull();
  });
});

describe('safeUrl', () => {
  it('leaves out credentials and the query, whether the URL parses or not', () => {
    expect(safeUrl('https://alice:pw@host:8443/v1/chat?key=k#f')).toBe('https://host:8443/v1/chat');
    expect(safeUrl('http//alice:pw@host/v1?key=k')).toBe('http//host/v1');
    expect(safeUrl('not a url?key=k')).toBe('not a url');
  });
});
