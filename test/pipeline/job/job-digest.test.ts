import { describe, expect, it } from 'vitest';
import { jobConfigDigest } from '../../../src/pipeline/job/job-settings.js';
import type { SubmitOptions } from '../../../src/pipeline/submit.js';
import type { Provider } from '../../../src/pipeline/providers.js';

const provider = { name: 'openai', endpoint: '/v1/chat/completions' } as unknown as Provider;
const base = { provider, dataset: 'data.jsonl', outDir: 'batches', template: 'Why {}?', model: 'gpt-4o' } as SubmitOptions;

describe('jobConfigDigest: a manifest belongs to one job', () => {
  it('changes with every setting that changes what is sent or rejected', () => {
    const digest = jobConfigDigest(base);
    const changed: Array<Partial<SubmitOptions>> = [
      { template: 'How {}?' },
      { model: 'gpt-4o-mini' },
      { maxTokens: 100 },
      { detail: 'low' },
      { maxRequests: 10 },
      { resize: { target: { maxSide: 2048, minSide: 768 } } },
      { imageUrls: 'passthrough' },
      { imageUrls: 'fetch' },
      { confine: true },
      { imageRoot: '/images' },
    ];
    for (const extra of changed) expect(jobConfigDigest({ ...base, ...extra }), JSON.stringify(extra)).not.toBe(digest);
    // Resize targets and qualities differ from each other too.
    expect(jobConfigDigest({ ...base, resize: { target: { maxSide: 1024 } } })).not.toBe(jobConfigDigest({ ...base, resize: { target: { maxSide: 2048 } } }));
    expect(jobConfigDigest({ ...base, imageUrls: 'fetch', remote: { allowPrivate: true } })).not.toBe(jobConfigDigest({ ...base, imageUrls: 'fetch' }));
  });

  it('stays the same for settings of speed and for the defaults spelled out (older manifests keep their digest)', () => {
    const digest = jobConfigDigest(base);
    const same: Array<Partial<SubmitOptions>> = [
      { workers: 4 },
      { concurrency: 2 },
      { readers: 8 },
      { imageUrls: 'reject' },
      { confine: false },
      { retries: 3 },
      { minRetryDelayMs: 10 },
    ];
    for (const extra of same) expect(jobConfigDigest({ ...base, ...extra }), JSON.stringify(extra)).toBe(digest);
    expect(jobConfigDigest({ ...base, resize: { target: { maxSide: 2048 }, concurrency: 1 } })).toBe(jobConfigDigest({ ...base, resize: { target: { maxSide: 2048 }, concurrency: 4 } }));
  });
});
