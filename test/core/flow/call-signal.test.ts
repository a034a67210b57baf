import { getEventListeners } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { callSignal } from '../../../src/core/flow/call-signal.js';
import { startTestServer } from '../../helpers/server.js';

describe('callSignal', () => {
  const started = startTestServer();
  afterAll(async () => (await started).server.close());

  it("keeps the openai client from piling abort listeners on the job's signal, and still aborts calls", async () => {
    const { client } = await started;
    const job = new AbortController();
    for (let i = 0; i < 30; i++) await client.batches.list({ limit: 1 }, callSignal(job.signal));
    expect(getEventListeners(job.signal, 'abort')).toHaveLength(0);

    // What the fix is for: the client's own way leaves one listener per call.
    const raw = new AbortController();
    for (let i = 0; i < 3; i++) await client.batches.list({ limit: 1 }, { signal: raw.signal });
    expect(getEventListeners(raw.signal, 'abort')).toHaveLength(3);

    const aborted = new AbortController();
    aborted.abort(new Error('stop'));
    await expect(client.batches.list({ limit: 1 }, callSignal(aborted.signal))).rejects.toThrow();
    expect(callSignal(undefined)).toEqual({});
  });
});
