// Control for bench/roundtrip.mjs: download a batch's output as the original scripts did (whole body).
import OpenAI from 'openai';

const client = new OpenAI();
const batch = await client.batches.retrieve(process.argv[2]);
const text = await (await client.files.content(batch.output_file_id)).text();
console.log(text.length);
