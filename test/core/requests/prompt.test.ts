import { describe, expect, it } from 'vitest';
import { compilePrompt, loadPromptFile } from '../../../src/core/requests/prompt.js';
import { packageRoot } from '../../../src/core/io/package-root.js';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { PRESETS } from '../../../src/core/dataset/presets.js';

describe('compilePrompt', () => {
  it('replaces only {} and keeps every other brace, as in a JSON example', () => {
    const render = compilePrompt('Label: {}.\nAnswer as {"explanation": "..."} or { }.');
    expect(render('propaganda', 'hello')).toBe('Label: propaganda.\nAnswer as {"explanation": "..."} or { }.\nText extracted: hello');
  });

  it('replaces every {} and leaves braces inside the label alone', () => {
    const render = compilePrompt('{} / {}', { textPrefix: '' });
    expect(render('a {b} $& $1', undefined)).toBe('a {b} $& $1 / a {b} $& $1');
  });

  it('leaves the prefix out when the row has no text (absent, null or blank): no dangling "Text extracted: "', () => {
    expect(compilePrompt('is {}')('hateful', undefined)).toBe('is hateful');
    expect(compilePrompt('is {}')('hateful', '  ')).toBe('is hateful');
    expect(compilePrompt('is {}', { textPrefix: '\nOCR: ' })('hateful', 'نص')).toBe('is hateful\nOCR: نص');
    expect(compilePrompt('is {}').head('hateful')).toBe('is hateful\nText extracted: ');
  });

  it('refuses a template without {} at start-up, naming it', () => {
    expect(() => compilePrompt('no label here', { source: 'p.txt' })).toThrow(/p\.txt has no \{\} placeholder/);
  });
});

describe('shipped prompts', () => {
  const dir = path.join(packageRoot(), 'prompts');
  it.each(['armeme_explanation_arabic', 'armeme_explanation_english', 'hateful_memes_explanation', 'mmhs150k_explanation', 'memotion_explanation', 'mami_explanation'])('%s compiles and keeps its JSON example', async (name) => {
    const { template } = await loadPromptFile(name, dir);
    const text = compilePrompt(template)('not-propaganda', 'x');
    expect(text).toContain('not-propaganda');
    expect(text).toMatch(/\{"explanation": "[^"]+"\}/);
    expect(text).not.toContain('{}');
    expect(template).toMatch(/Do not re-classify/);
    expect(template).toMatch(/about 100 words/);
  });

  it('each preset names a shipped prompt that covers its negative label, and the prompts README lists it', async () => {
    const readme = await readFile(path.join(dir, 'README.md'), 'utf8');
    for (const preset of Object.values(PRESETS)) {
      const { template } = await loadPromptFile(preset.prompt, dir);
      expect(readme).toContain(`\`${preset.prompt}\``);
      const labels: Record<string, string> = 'labelMap' in preset.mapping ? preset.mapping.labelMap : {};
      for (const label of Object.values(labels)) expect(template, `${preset.prompt} names ${label}`).toContain(`"${label}"`);
    }
  });

  it('the Arabic prompt asks for Modern Standard Arabic', async () => {
    const { template } = await loadPromptFile('armeme_explanation_arabic.txt', dir);
    expect(template).toMatch(/Modern Standard Arabic/);
  });

  it('a missing prompt file is a clear error', async () => {
    await expect(loadPromptFile('nope.txt', dir)).rejects.toThrow(/prompt nope\.txt: no such file/);
  });
});
