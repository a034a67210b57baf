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
