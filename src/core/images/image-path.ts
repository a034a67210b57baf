// Where a row's image is: a path under the image root, a URL, or bytes embedded in the dataset
// (the build's resolveImage stage and the viewer both ask).
import path from 'node:path';
import type { DatasetRow } from '../../types.js';

/** A URL rather than a path: `scheme://…`, or a `data:` URI. */
export const URL_LIKE = /^(?:[a-z][a-z0-9+.-]*:\/\/|data:)/i;

/** Pure: where a row's image lives. */
export function resolveImagePath(imgPath: string, imageRoot: string): string {
  return path.resolve(imageRoot, imgPath);
}

/** Pure: how an image embedded in the dataset is named in messages: `embedded in row 7 ("a.png")`. */
export function embeddedName(row: DatasetRow): string {
  return `embedded in row ${row.line}${row.imgPath === '' ? '' : ` (${JSON.stringify(row.imgPath.slice(0, 200))})`}`;
}

/** Pure: whether the absolute path `file` is `root` or lies under it (`--confine`; both already resolved, real paths where symlinks matter). */
export function insideRoot(file: string, root: string): boolean {
  return file === root || file.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}
