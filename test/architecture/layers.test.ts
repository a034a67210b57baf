// The house rules of ARCHITECTURE.md, checked on every run: the layers' imports (dependency-cruiser,
// rules in .dependency-cruiser.cjs), no folder of src/ over 20 files, no source file over 300 lines.
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { cruise, type ICruiseOptions, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const MAX_FILES_PER_FOLDER = 20;
const MAX_LINES_PER_FILE = 300;

async function rules(): Promise<ICruiseOptions> {
  return extractDepcruiseOptions(join(ROOT, '.dependency-cruiser.cjs'));
}

async function violations(paths: string[], baseDir: string): Promise<IViolation[]> {
  const result = await cruise(paths, { ...(await rules()), validate: true, baseDir });
  if (typeof result.output === 'string') throw new Error('dependency-cruiser returned text, not a result');
  expect(result.output.summary.totalCruised).toBeGreaterThan(0);
  return result.output.summary.violations;
}

function describeViolation(v: IViolation): string {
  const path = v.cycle?.length ? [v.from, ...v.cycle.map((step) => step.name)].join(' → ') : `${v.from} → ${v.to}`;
  return `${v.rule.name}: ${path}`;
}

/** Every file under `dir` (relative to ROOT), folders as keys. */
async function filesByFolder(dir: string): Promise<Map<string, string[]>> {
  const byFolder = new Map<string, string[]>();
  for (const entry of await readdir(join(ROOT, dir), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const folder = relative(ROOT, entry.parentPath);
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), entry.name]);
  }
  return byFolder;
}

describe('the layers', () => {
  it('src/ and bin/ import only down a layer, in no circle, and no devDependency at run time', async () => {
    const found = await violations(['src', 'bin'], ROOT);
    expect(found.map(describeViolation)).toEqual([]);
  });

  it('the rules catch an import up a layer and a circle (they can fail)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'be-layers-'));
    try {
      await mkdir(join(dir, 'src/core/sort'), { recursive: true });
      await mkdir(join(dir, 'src/stages'), { recursive: true });
      await writeFile(join(dir, 'src/core/sort/order.ts'), "import { stage } from '../../stages/sort.js';\nexport const order = stage;\n");
      await writeFile(join(dir, 'src/stages/sort.ts'), "import { order } from '../core/sort/order.js';\nexport const stage = 1;\nexport const again = order;\n");
      const found = (await violations(['src'], dir)).map(describeViolation);
      expect(found).toContain('core-imports-up: src/core/sort/order.ts → src/stages/sort.ts');
      expect(found.some((line) => line.startsWith('no-circular: '))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the size of things', () => {
  it(`no folder of src/ holds more than ${MAX_FILES_PER_FOLDER} files`, async () => {
    const crowded = [...(await filesByFolder('src'))]
      .filter(([, files]) => files.length > MAX_FILES_PER_FOLDER)
      .map(([folder, files]) => `${folder}: ${files.length} files`);
    expect(crowded).toEqual([]);
  });

  it(`no source file in src/ or bin/ is over ${MAX_LINES_PER_FILE} lines`, async () => {
    const long: string[] = [];
    for (const dir of ['src', 'bin']) {
      for (const [folder, files] of await filesByFolder(dir)) {
        for (const name of files.filter((file) => /\.(ts|js|mjs)$/.test(file))) {
          const text = await readFile(join(ROOT, folder, name), 'utf8');
          const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
          if (lines > MAX_LINES_PER_FILE) long.push(`${folder}/${name}: ${lines} lines`);
        }
      }
    }
    expect(long).toEqual([]);
  });
});
