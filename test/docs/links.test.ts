// The documentation holds together: every relative link of the README, ARCHITECTURE.md, docs/ and
// bench/RESULTS.md reaches a file, and every #anchor a heading of it (GitHub's slugs); the README
// stays a five-minute read (≤ 250 lines) and ARCHITECTURE.md a map (≤ 150 lines).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pages = ['README.md', 'ARCHITECTURE.md', 'bench/RESULTS.md', ...readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** The text outside fenced code blocks and inline code, where links are links. */
function proseOf(markdown: string): string {
  return markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
    .replace(/(`+)[\s\S]*?\1/g, '');
}

/** GitHub's anchor of a heading: rendered text, lower case, punctuation dropped, spaces as hyphens. */
function slugOf(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** The anchors a page offers, duplicates numbered as GitHub numbers them (-1, -2…). */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  const outsideFences = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const m of outsideFences.matchAll(/^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$/gm)) {
    const base = slugOf(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Every relative link target of a page: [text](target) and ![alt](target), web addresses left out. */
function relativeLinks(markdown: string): string[] {
  const links: string[] = [];
  for (const m of proseOf(markdown).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    const target = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    links.push(target);
  }
  return links;
}

function brokenLinks(page: string): string[] {
  const file = path.join(root, page);
  const text = readFileSync(file, 'utf8');
  const broken: string[] = [];
  for (const link of relativeLinks(text)) {
    const [target, anchor] = link.split('#', 2) as [string, string | undefined];
    const resolved = target === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(target));
    if (!resolved.startsWith(root) || !existsSync(resolved)) {
      broken.push(`${page}: ${link} (no such file)`);
      continue;
    }
    if (anchor === undefined) continue;
    if (!resolved.endsWith('.md') || statSync(resolved).isDirectory()) {
      broken.push(`${page}: ${link} (an anchor into a file that is not a page)`);
      continue;
    }
    if (!anchorsOf(readFileSync(resolved, 'utf8')).has(decodeURIComponent(anchor))) broken.push(`${page}: ${link} (no such heading)`);
  }
  return broken;
}

describe('the documentation', () => {
  it.each(pages)('%s: every relative link reaches a file, every anchor a heading', (page) => {
    expect(brokenLinks(page)).toEqual([]);
  });

  it('README.md is at most 250 lines and ARCHITECTURE.md at most 150', () => {
    const lines = (page: string) => readFileSync(path.join(root, page), 'utf8').replace(/\n$/, '').split('\n').length;
    expect(lines('README.md')).toBeLessThanOrEqual(250);
    expect(lines('ARCHITECTURE.md')).toBeLessThanOrEqual(150);
  });

  it('the checker itself: slugs as GitHub makes them, links in code ignored, a missing heading found', () => {
    expect(slugOf('The Batch API round trip: `submit`, `status`, `retrieve`, `cancel`')).toBe('the-batch-api-round-trip-submit-status-retrieve-cancel');
    expect(slugOf('build with `--resize` (`bench/resize.mjs`, issue #6 item 4)')).toBe('build-with---resize-benchresizemjs-issue-6-item-4');
    expect(slugOf('Hateful Memes (Facebook)')).toBe('hateful-memes-facebook');
    expect([...anchorsOf('# A\n## B\n```\n# not a heading\n```\n## B\n')]).toEqual(['a', 'b', 'b-1']);
    expect(relativeLinks('see [x](a.md#b), `[y](c.md)`, [web](https://e.org)\n```\n[z](d.md)\n```\n![pic](p.png)')).toEqual(['a.md#b', 'p.png']);
  });
});
