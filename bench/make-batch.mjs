// Helper of bench/roundtrip.mjs: uploads an input file and creates a batch; prints its id.
import { createReadStream } from 'node:fs';
import OpenAI, { toStreamingFile } from 'openai';
import { streamingFetch } from '../dist/src/batch-api/streaming-fetch.js';

const client = new OpenAI({ fetch: streamingFetch() });
const file = await client.files.create({ file: toStreamingFile(createReadStream(process.argv[2]), 'input.jsonl'), purpose: 'batch' });
const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
console.log(batch.id);
