import { copyFile, mkdir, mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveImage } from '../../src/stages/resolve-image.js';
import { collect } from '../helpers/streams.js';
import type { DatasetRow } from '../../src/types.js';

const fixtures = fileURLToPath(new URL('../../fixtures/', import.meta.url));
const row = (line: number, imgPath: string): DatasetRow => ({ line, id: `r${line}`, imgPath, label: 'propaganda' });

describe('resolveImage', () => {
  it('resolves relative paths against imageRoot, keeps absolute ones, keeps order', async () => {
    const rows = [row(1, 'images/face.png'), row(2, path.join(fixtures, 'images/banner.jpg')), row(3, './images/../images/chart.gif')];
    const out = await collect((onReject) => resolveImage({ onReject, imageRoot: fixtures, concurrency: 2 }), rows);
    expect(out.rejects).toEqual([]);
    expect(out.rows.map((r) => r.imageFile)).toEqual([
      path.join(fixtures, 'images/face.png'),
      path.join(fixtures, 'images/banner.jpg'),
      path.join(fixtures, 'images/chart.gif'),
    ]);
    expect(out.rows[0]).toMatchObject({ id: 'r1', label: 'propaganda' });
  });

  it('rejects a missing file, a folder, a path through a file, and a URL', async () => {
    const rows = [row(1, 'images/nope.jpg'), row(2, 'images'), row(3, 'images/face.png/x.jpg'), row(4, 'https://example.com/a.jpg'), row(5, 'images/face.png')];
    const out = await collect((onReject) => resolveImage({ onReject, imageRoot: fixtures, file: 'd.jsonl' }), rows);
    expect(out.rows.map((r) => r.line)).toEqual([5]);
    expect(out.rejects.map((r) => [r.line, r.code])).toEqual([
      [1, 'E_IMAGE_NOT_FOUND'],
      [2, 'E_IMAGE_UNREADABLE'],
      [3, 'E_IMAGE_NOT_FOUND'],
      [4, 'E_REMOTE_IMAGE'],
    ]);
    expect(out.rejects[0]).toMatchObject({ file: 'd.jsonl', id: 'r1', stage: 'resolveImage', message: expect.stringContaining('images/nope.jpg') });
  });

  it('with imageUrls fetch or passthrough, lets http(s) URLs through as remote rows and refuses other schemes', async () => {
    const rows = [
      row(1, 'https://example.com/a.jpg'),
      row(2, 'file:///etc/passwd'),
      row(3, 'data:image/png;base64,iVBORw0KGgo='),
      row(4, 'ftp://example.com/a.png'),
      row(5, 'HTTP://Example.COM/b c.png'),
      row(6, 'images/face.png'),
    ];
    for (const imageUrls of ['fetch', 'passthrough'] as const) {
      const out = await collect((onReject) => resolveImage({ onReject, imageRoot: fixtures, imageUrls }), rows);
      expect(out.rows.map((r) => [r.line, r.imageFile, r.remote])).toEqual([
        [1, 'https://example.com/a.jpg', imageUrls],
        [5, 'http://example.com/b%20c.png', imageUrls],
        [6, path.join(fixtures, 'images/face.png'), undefined],
      ]);
      expect(out.rejects.map((r) => [r.line, r.code])).toEqual([2, 3, 4].map((line) => [line, 'E_REMOTE_REFUSED']));
    }
    // By default every URL, data: included, is refused unfetched.
    const off = await collect((onReject) => resolveImage({ onReject, imageRoot: fixtures }), rows);
    expect(off.rejects.map((r) => r.code)).toEqual(Array(5).fill('E_REMOTE_IMAGE'));
  });

  it('checks its options', () => {
    expect(() => resolveImage({ onReject: () => {}, imageRoot: '.', imageUrls: 'download' as never })).toThrow(/imageUrls: expected one of reject, fetch, passthrough/);
    expect(() => resolveImage({ onReject: () => {}, imageRoot: '' })).toThrow(/imageRoot/);
    expect(() => resolveImage({ onReject: () => {}, imageRoot: '.', concurrency: -1 })).toThrow(/concurrency: expected an integer ≥ 0/);
  });

  it('with confine, refuses .., absolute paths elsewhere and symlinks leading out; allows what stays inside', async () => {
    const top = await mkdtemp(path.join(tmpdir(), 'be-confine-'));
    const root = path.join(top, 'root');
    await mkdir(path.join(root, 'images'), { recursive: true });
    await copyFile(path.join(fixtures, 'images/face.png'), path.join(root, 'images/in.png'));
    await copyFile(path.join(fixtures, 'images/face.png'), path.join(top, 'secret.png'));
    await symlink(path.join(top, 'secret.png'), path.join(root, 'images/out-link.png'));
    await symlink(path.join(root, 'images/in.png'), path.join(root, 'images/in-link.png'));
    await symlink(top, path.join(root, 'escape'));
    await symlink(root, path.join(top, 'root-link'));
    const rows = [
      row(1, 'images/in.png'),
      row(2, '../secret.png'),
      row(9, '../no-such-file.png'),
      row(3, path.join(top, 'secret.png')),
      row(4, 'images/out-link.png'),
      row(5, 'images/in-link.png'),
      row(6, path.join(root, 'images/in.png')),
      row(7, 'escape/secret.png'),
      row(8, 'images/../images/in.png'),
    ];
    for (const concurrency of [0, 2]) {
      for (const imageRoot of [root, path.join(top, 'root-link')]) {
        const out = await collect((onReject) => resolveImage({ onReject, imageRoot, confine: true, concurrency }), rows);
        expect(out.rows.map((r) => r.line), `${imageRoot}, concurrency ${concurrency}`).toEqual([1, 5, 6, 8]);
        expect(out.rows.every((r) => r.imageFile === path.join(root, 'images/in.png'))).toBe(true);
        expect(out.rejects.map((r) => [r.line, r.code])).toEqual([2, 9, 3, 4, 7].map((line) => [line, 'E_IMAGE_OUTSIDE_ROOT']));
      }
    }
    // Without confine, the same paths are read wherever they lead.
    const open = await collect((onReject) => resolveImage({ onReject, imageRoot: root }), rows);
    expect(open.rows).toHaveLength(8);
    expect(open.rejects.map((r) => r.code)).toEqual(['E_IMAGE_NOT_FOUND']);
  });
});

