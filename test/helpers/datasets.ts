/**
 * Small datasets in the published layouts of public meme datasets (their column names, their
 * folder layouts), with real images from fixtures/images, written into a folder by the test.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const IMAGES = fileURLToPath(new URL('../../fixtures/images/', import.meta.url));

async function image(dir: string, from: string, to: string): Promise<void> {
  await mkdir(path.dirname(path.join(dir, to)), { recursive: true });
  await copyFile(path.join(IMAGES, from), path.join(dir, to));
}

/** Hateful Memes: `train.jsonl`, `{id, img, label, text}`, label 0/1, images in `img/`. */
export async function hatefulMemes(dir: string): Promise<string> {
  await image(dir, 'face.png', 'img/42953.png');
  await image(dir, 'banner.jpg', 'img/10387.png');
  const rows = [
    { id: 42953, img: 'img/42953.png', label: 0, text: 'its their character not their color that matters' },
    { id: 10387, img: 'img/10387.png', label: 1, text: "don't be afraid to love again everyone is not like your ex" },
  ];
  const file = path.join(dir, 'train.jsonl');
  await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}

/** MMHS150K: `MMHS150K_GT.json`, one object keyed by tweet id; three annotators' labels 0-5; images `img_resized/<id>.jpg`. */
export async function mmhs150k(dir: string): Promise<string> {
  await image(dir, 'banner.jpg', 'img_resized/1114679353714016256.jpg');
  await image(dir, 'noisy-photo.jpg', 'img_resized/1063020048816660480.jpg');
  const gt = {
    '1114679353714016256': {
      img_url: 'http://pbs.twimg.com/tweet_video_thumb/D3gi9MHWoAEmJXR.jpg',
      labels: [4, 1, 3],
      tweet_url: 'https://twitter.com/user/status/1114679353714016256',
      tweet_text: '@user look who is back https://t.co/cAsaLWEpue',
      labels_str: ['Religion', 'Racist', 'Homophobe'],
    },
    '1063020048816660480': {
      img_url: 'http://pbs.twimg.com/media/Dr5oVzBX4AA0XTl.jpg',
      labels: [0, 0, 2],
      tweet_url: 'https://twitter.com/user/status/1063020048816660480',
      tweet_text: 'my bestie is the worst lol https://t.co/r0v3fWf6nA',
      labels_str: ['NotHate', 'NotHate', 'Sexist'],
    },
  };
  const file = path.join(dir, 'MMHS150K_GT.json');
  await writeFile(file, JSON.stringify(gt, null, 2));
  return file;
}

/** Memotion 7k: `labels.csv` (an unnamed index column, quoted multi-line fields), images in `images/`. */
export async function memotion(dir: string): Promise<string> {
  await image(dir, 'face.png', 'images/image_1.jpg');
  await image(dir, 'bubble.webp', 'images/image_2.jpeg');
  await image(dir, 'chart.gif', 'images/image_3.JPG');
  const csv = [
    ',image_name,text_ocr,text_corrected,humour,sarcasm,offensive,motivational,overall_sentiment',
    '0,image_1.jpg,"LOOK THERE MY FRIEND LIGHTYEAR NOW ALL SOHALIKUT TREND PLAY THE 10 YEARS CHALLENGE AT FACEBOOK imgflip.com","LOOK THERE MY FRIEND LIGHTYEAR NOW ALL SOHALIKUT TREND PLAY THE 10 YEARS CHALLENGE AT FACEBOOK imgflip.com",hilarious,general,not_offensive,not_motivational,very_positive',
    '1,image_2.jpeg,"The best of #10 YearChallenge!\nCompleted in less the 4 years. Kudus to @narendramodi ji","The best of #10 YearChallenge!\nCompleted in less the 4 years. Kudus to @narendramodi ji",not_funny,general,very_offensive,not_motivational,very_positive',
    '2,image_3.JPG,"Sam Thorne @Strippin_( Follow Follow Saw everyone posting these ""10 year challenge"" pictures",,very_funny,not_sarcastic,slight,not_motivational,positive',
  ];
  const file = path.join(dir, 'labels.csv');
  await writeFile(file, '\uFEFF' + csv.join('\r\n') + '\r\n');
  return file;
}

/** MAMI: `training.csv`, tab-separated despite its name, images beside it. */
export async function mami(dir: string): Promise<string> {
  await image(dir, 'face.png', '1.jpg');
  await image(dir, 'screenshot.jpg', '10.jpg');
  const tsv = [
    'file_name\tmisogynous\tshaming\tstereotype\tobjectification\tviolence\tText Transcription',
    '1.jpg\t0\t0\t0\t0\t0\tMilk Milk.zip',
    '10.jpg\t1\t0\t0\t0\t1\tROSES ARE RED, VIOLETS ARE BLUE WOMEN BELONG "IN THE KITCHEN" quickmeme.com',
  ];
  const file = path.join(dir, 'training.csv');
  await writeFile(file, tsv.join('\n') + '\n');
  return file;
}

/** A Hugging Face Hub Parquet shard: `id`, `text`, `image` as the `{bytes, path}` struct, `img_path`, `class_label` (ArMeme's columns). */
export async function hubParquet(dir: string, rows?: Array<{ id: string; image: string | Buffer; label: string; text: string }>, rowGroupSize = 2, codec: 'SNAPPY' | 'GZIP' = 'SNAPPY'): Promise<string> {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const { readFile } = await import('node:fs/promises');
  const given = rows ?? [
    { id: 'armeme-0001', image: 'banner.jpg', label: 'propaganda', text: 'مصر أولاً' },
    { id: 'armeme-0002', image: 'face.png', label: 'not_propaganda', text: 'لما تصحى بدري يوم الجمعة 😂' },
    { id: 'armeme-0003', image: 'bubble.webp', label: 'propaganda', text: 'قالوا لنا الأسعار ستنخفض' },
  ];
  const images = await Promise.all(given.map(async (r) => (typeof r.image === 'string' ? readFile(path.join(IMAGES, r.image)) : r.image)));
  const schema = [
    { name: 'schema', num_children: 5 },
    { name: 'id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    { name: 'text', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    { name: 'image', repetition_type: 'OPTIONAL', num_children: 2 },
    { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
    { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    { name: 'img_path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    { name: 'class_label', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
  ] as const;
  const { gzipSync } = await import('node:zlib');
  const buf = parquetWriteBuffer({
    schema: schema as never,
    rowGroupSize,
    codec,
    compressors: { GZIP: (input: Uint8Array) => gzipSync(input) },
    columnData: [
      { name: 'id', data: given.map((r) => r.id) },
      { name: 'text', data: given.map((r) => r.text) },
      { name: 'image', data: given.map((r, i) => ({ bytes: images[i], path: typeof r.image === 'string' ? r.image : `${r.id}.bin` })) },
      { name: 'img_path', data: given.map((r) => `data/arabic_memes_fb_insta_pinterest/Instagram/IMAGES/${r.id}.jpg`) },
      { name: 'class_label', data: given.map((r) => r.label) },
    ],
  });
  const file = path.join(dir, 'train-00000-of-00001.parquet');
  await writeFile(file, Buffer.from(buf));
  return file;
}
