// Control for bench/roundtrip.mjs: upload a file with the openai client's defaults (global fetch).
import { createReadStream } from 'node:fs';
import OpenAI from 'openai';

const client = new OpenAI();
const file = await client.files.create({ file: createReadStream(process.argv[2]), purpose: 'batch' });
console.log(file.id);
