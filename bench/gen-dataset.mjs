// Generates an ArMeme-like dataset over an image pool: unique ids, Arabic texts of 3–80 words
// with newlines, digits and emoji, four labels. Deterministic for a seed.
//   node bench/gen-dataset.mjs --rows N --images DIR --out FILE
import { createWriteStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { parseArgs } from 'node:util';

const WORDS = ['مصر', 'أولاً', 'الدفعات', 'القديمة', 'لو', 'نقصت', 'درجة', 'هجيب', 'مين', 'المتخلف', 'الأسعار', 'رواتبنا', 'الحكومة', 'الشعب', 'يوم', 'الجمعة', 'بدري', 'تحيا', 'الوطن', 'الامتحان', 'نجاح', '٤٠', '٩٠٪', '😂', '🇪🇬', 'قالوا', 'لنا', 'ستنخفض'];
const LABELS = ['propaganda', 'not-propaganda', 'propaganda', 'not-propaganda'];
const PLATFORMS = ['Facebook', 'Instagram', 'Pinterest', 'Twitter'];

/** The id of row `i`: ArMeme-like paths, unique (bench/gen-results.mjs answers them by index). */
export function datasetId(i) {
  const platform = PLATFORMS[i % PLATFORMS.length];
  return `data/arabic_memes_fb_insta_pinterest/${platform}/IMAGES/user${i % 977}/${2020 + (i % 5)}-02-27_14-10-${String(i).padStart(7, '0')}_UTC.jpg`;
}

export async function generateDataset({ rows, images, out, seed = 7 }) {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const files = (await readdir(images)).filter((n) => n.endsWith('.jpg')).sort();
  const stream = createWriteStream(out);
  for (let i = 0; i < rows; i++) {
    const n = 3 + Math.floor(rand() * 78);
    const words = Array.from({ length: n }, (_, k) => WORDS[Math.floor(rand() * WORDS.length)] + (k % 11 === 10 ? '\n' : ''));
    const row = {
      id: datasetId(i),
      text: words.join(' '),
      img_path: path.join(images, files[i % files.length]),
      class_label: LABELS[i % LABELS.length],
    };
    if (!stream.write(`${JSON.stringify(row)}\n`)) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { rows: { type: 'string' }, images: { type: 'string' }, out: { type: 'string' } } });
  await generateDataset({ rows: Number(values.rows), images: values.images, out: values.out });
}
