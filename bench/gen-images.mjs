// Generates a pool of real JPEG images (smooth colour fields with noise, like photos of memes)
// whose sizes spread from ~30 KB to ~400 KB around a chosen mean. Deterministic for a seed.
//   node bench/gen-images.mjs --dir DIR [--count 200] [--mean-kb 150]
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

export async function generateImages({ dir, count = 200, meanKb = 150, seed = 42 }) {
  await mkdir(dir, { recursive: true });
  const existing = (await readdir(dir)).filter((n) => n.endsWith('.jpg'));
  if (existing.length === count) return summarize(dir, existing);
  // Two generators: sizes do not depend on how many pixels earlier images drew.
  const lcg = (seed0) => {
    let s = seed0;
    return () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  };
  const sizeRand = lcg(seed);
  const rand = lcg(seed + 1);
  const BYTES_PER_PIXEL = 0.325; // measured for this generator at q85
  for (let i = 0; i < count; i++) {
    // Sizes from 0.2x to 2.6x the mean, averaging ~1x (a triangular-ish spread).
    const target = meanKb * 1000 * (0.2 + (1.6 * (sizeRand() + sizeRand())) / 2 + (sizeRand() < 0.15 ? 1 : 0));
    const pixels = target / BYTES_PER_PIXEL;
    const width = Math.max(64, Math.round(Math.sqrt(pixels * 4 / 3)));
    const height = Math.max(48, Math.round(pixels / width));
    const raw = Buffer.alloc(width * height * 3);
    const [r0, g0, b0] = [rand() * 255, rand() * 255, rand() * 255];
    const amp = 40 + rand() * 30;
    for (let y = 0, p = 0; y < height; y++) {
      for (let x = 0; x < width; x++, p += 3) {
        const wave = Math.sin(x / 37 + i) * 40 + Math.cos(y / 23) * 40;
        raw[p] = clamp(r0 + wave + (rand() - 0.5) * amp);
        raw[p + 1] = clamp(g0 - wave + (rand() - 0.5) * amp);
        raw[p + 2] = clamp(b0 + wave / 2 + (rand() - 0.5) * amp);
      }
    }
    await sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toFile(path.join(dir, `img${String(i).padStart(4, '0')}.jpg`));
  }
  return summarize(dir, (await readdir(dir)).filter((n) => n.endsWith('.jpg')));
}

function clamp(v) {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

async function summarize(dir, names) {
  const sizes = await Promise.all(names.sort().map(async (n) => (await stat(path.join(dir, n))).size));
  const files = names.map((n) => path.join(dir, n));
  return { files, sizes, meanBytes: sizes.reduce((a, b) => a + b, 0) / sizes.length, minBytes: Math.min(...sizes), maxBytes: Math.max(...sizes) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { dir: { type: 'string' }, count: { type: 'string', default: '200' }, 'mean-kb': { type: 'string', default: '150' } } });
  const pool = await generateImages({ dir: values.dir, count: Number(values.count), meanKb: Number(values['mean-kb']) });
  console.log(`${pool.files.length} images, mean ${(pool.meanBytes / 1000).toFixed(1)} kB (${(pool.minBytes / 1000).toFixed(1)}–${(pool.maxBytes / 1000).toFixed(1)} kB)`);
}
