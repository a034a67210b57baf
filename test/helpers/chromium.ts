import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress } from 'node:zlib';
import { extract } from 'tar-fs';
import { chromium, type BrowserContext } from 'playwright-core';

/** Where a Chromium unpacked for this checkout is found, and what it must be started with. */
export interface Chromium {
  executablePath: string;
  /** The environment to start it in: its own NSS libraries first on the library path. */
  env: Record<string, string>;
}

/**
 * The headless Chromium that `npm ci` installs: `@sparticuz/chromium` (a dev dependency) ships the
 * browser inside its npm package, brotli-compressed, with the few shared libraries it links
 * (NSS, NSPR, expat: its `al2023` layer) and a font. Nothing is downloaded and no system
 * package is needed: only glibc. Unpacked once per install into `node_modules/.cache/`, under a
 * folder named by the package's version, made whole in a folder of its own and renamed into
 * place, so that two suites starting together never run half a binary.
 */
export async function bundledChromium(): Promise<Chromium> {
  // The package exports no package.json: its folder is the one above its entry point whose package.json names it.
  let pack = path.dirname(createRequire(import.meta.url).resolve('@sparticuz/chromium'));
  const named = async (dir: string) => {
    const manifest = path.join(dir, 'package.json');
    return existsSync(manifest) ? (JSON.parse(await readFile(manifest, 'utf8')) as { name?: string; version?: string }) : {};
  };
  while ((await named(pack)).name !== '@sparticuz/chromium') {
    if (pack === path.dirname(pack)) throw new Error('@sparticuz/chromium: no package.json of its own above its entry point');
    pack = path.dirname(pack);
  }
  const { version } = await named(pack);
  const cache = path.resolve(pack, '..', '..', '.cache'); // node_modules/.cache
  const dir = path.join(cache, `sparticuz-chromium-${version}`);
  if (!existsSync(path.join(dir, 'chromium'))) {
    await mkdir(cache, { recursive: true });
    const staging = await mkdtemp(path.join(cache, `sparticuz-chromium-${version}.part-`));
    try {
      const bin = path.join(pack, 'bin');
      await pipeline(createReadStream(path.join(bin, 'chromium.br')), createBrotliDecompress(), createWriteStream(path.join(staging, 'chromium'), { mode: 0o755 }));
      await pipeline(createReadStream(path.join(bin, 'al2023.tar.br')), createBrotliDecompress(), extract(staging));
      // Its font (Open Sans), for a machine without fonts; its fonts.conf names Lambda's folders, so one of ours.
      await pipeline(createReadStream(path.join(bin, 'fonts.tar.br')), createBrotliDecompress(), extract(staging));
      await writeFile(path.join(staging, 'fonts.conf'), `<?xml version="1.0"?>\n<fontconfig><dir>${path.join(dir, 'fonts')}</dir><cachedir>${path.join(dir, 'fonts-cache')}</cachedir></fontconfig>\n`);
      await rename(staging, dir);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      // Another suite got there first: its copy is whole (renamed only once complete).
      if (!existsSync(path.join(dir, 'chromium'))) throw error;
    }
  }
  const env: Record<string, string> = { ...(process.env as Record<string, string>), LD_LIBRARY_PATH: [path.join(dir, 'lib'), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
  // The system's fonts where there are any (the screenshot shows Arabic); the package's own otherwise.
  if (!existsSync('/etc/fonts/fonts.conf')) env.FONTCONFIG_PATH = dir;
  return { executablePath: path.join(dir, 'chromium'), env };
}

/**
 * The bundled Chromium, headless, in a profile of its own under `profileDir`: kept off the network
 * (there is none here) and out of the user's profile. `options` adds to or overrides playwright's.
 */
export async function launchBundledChromium(profileDir: string, options: Parameters<typeof chromium.launchPersistentContext>[1] = {}): Promise<BrowserContext> {
  const browser = await bundledChromium();
  return chromium.launchPersistentContext(profileDir, {
    executablePath: browser.executablePath,
    env: browser.env,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 1050 },
    timeout: 60_000,
    ...options,
  });
}
