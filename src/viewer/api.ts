import type { FileHandle } from 'node:fs/promises';
import { datasetKey } from '../core/join/join-keys.js';
import { readLineAt } from '../core/io/read-line-at.js';
import { FLAGS, FLAG_BIT, flagNames, textDirection, type Flag } from '../core/quality/quality.js';
import { labelOf } from '../core/quality/quality-checker.js';
import type { ImageAnswer, rowImages } from './images.js';
import type { RowFilter, RowIndex } from './row-index.js';
import { searchRows } from './search.js';
import { embeddedImage, rowFields } from '../core/dataset/row-view.js';
import type { FieldMapping } from '../core/dataset/mapping.js';

/** Rows a page holds at most. */
export const MAX_PAGE_SIZE = 200;
/** Rows one export takes at most. */
export const MAX_EXPORT_ROWS = 1_000_000;

/** A row as the page shows it. */
export interface RowView {
  /** Row number (0-based, the index's). */
  n: number;
  /** Line in the merged file. */
  line: number;
  id: string | null;
  label: string;
  text: string | null;
  textDir: 'rtl' | 'ltr';
  explanation: string | null;
  explanationDir: 'rtl' | 'ltr';
  flags: Flag[];
  words: number;
  reason: string | null;
  hasImage: boolean;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What the viewer's HTTP API answers from: the index, the open files and the image settings. */
export interface ApiContext {
  index: RowIndex;
  input: FileHandle;
  errors: FileHandle | null;
  field: string;
  /** The rows' images (`rowImages`, holding the viewer's image limits). */
  images: ReturnType<typeof rowImages>;
  /** The file's size and modification time when indexed: a changed file is refused, not misread. */
  indexed: { size: number; mtimeMs: number };
  /** Where rows keep their id, label, image and text (the job's mapping). Default `id`, `class_label`, `img_path`, `text`. */
  mapping?: FieldMapping;
}

/** `label`, `flag`, `reason` query parameters → a filter on the index; unknown names are 400s. */
export function parseFilter(ctx: ApiContext, params: URLSearchParams): RowFilter {
  const filter: RowFilter = {};
  const label = params.get('label');
  if (label !== null && label !== '') {
    const id = ctx.index.labelNames.indexOf(label);
    if (id === -1) throw new ApiError(400, `no row has the label ${JSON.stringify(label)}`);
    filter.label = id;
  }
  const flag = params.get('flag');
  if (flag !== null && flag !== '') {
    if (flag === 'any' || flag === 'none') filter.flag = flag;
    else if ((FLAGS as readonly string[]).includes(flag)) filter.flag = FLAG_BIT[flag as Flag];
    else throw new ApiError(400, `flag: expected any, none or one of ${FLAGS.join(', ')}`);
  }
  const reason = params.get('reason');
  if (reason !== null && reason !== '') {
    const id = ctx.index.reasonNames.indexOf(reason);
    if (id <= 0) throw new ApiError(400, `no row has the reason ${JSON.stringify(reason)}`);
    filter.reason = id;
  }
  return filter;
}

function intParam(params: URLSearchParams, name: string, fallback: number, max: number): number {
  const raw = params.get(name);
  if (raw === null || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < 0 || v > max) throw new ApiError(400, `${name}: expected an integer from 0 to ${max}`);
  return v;
}

/** `GET /api/rows`: a page of rows (filters; `page`, `size`), or with `q` the next matches of a search from row `from`. */
export async function listRows(ctx: ApiContext, params: URLSearchParams): Promise<unknown> {
  const filter = parseFilter(ctx, params);
  const size = Math.max(1, intParam(params, 'size', 50, MAX_PAGE_SIZE));
  const q = params.get('q')?.trim() ?? '';
  if (q !== '') {
    const from = intParam(params, 'from', 0, ctx.index.count);
    await checkUnchanged(ctx);
    const found = await searchRows({ index: ctx.index, file: ctx.input, field: ctx.field, query: q, filter, from, limit: size, ...(ctx.mapping ? { mapping: ctx.mapping } : {}) });
    return { q, from, next: found.next, rows: await views(ctx, found.rows) };
  }
  const page = intParam(params, 'page', 0, Number.MAX_SAFE_INTEGER);
  const { total, rows } = ctx.index.page(filter, page * size, size);
  return { total, page, size, pages: Math.max(1, Math.ceil(total / size)), rows: await views(ctx, rows) };
}

/** `GET /api/rows/N`: one row with every field, and why it has no explanation. */
export async function fullRow(ctx: ApiContext, n: number): Promise<unknown> {
  const { view, value } = await readView(ctx, n);
  let failure: unknown = null;
  const at = ctx.index.errorsOffset(n);
  if (at !== null && ctx.errors) failure = parseJson(readLineAt(ctx.errors.fd, at) ?? '');
  return { ...view, row: value ?? null, failure };
}

/** `GET /api/rows/N/image` and `/thumb`: the row's own image, never a path from the request. */
export async function image(ctx: ApiContext, n: number, thumbnail: boolean): Promise<ImageAnswer> {
  const { value } = await readView(ctx, n);
  const row = value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  const embedded = row && ctx.mapping ? embeddedImage(row, ctx.mapping) : null;
  if (embedded) return ctx.images(null, thumbnail, embedded);
  const imgPath = row && ctx.mapping ? rowFields(row, ctx.mapping).imgPath : row?.img_path;
  return ctx.images(imgPath, thumbnail);
}

/** `POST /api/export` with `{"rows": [n, ...]}`: the ids file of those rows, as `resubmit --ids` reads it. */
export async function exportIds(ctx: ApiContext, body: unknown): Promise<{ text: string; skipped: number }> {
  const rows = (body as { rows?: unknown })?.rows;
  if (!Array.isArray(rows) || rows.length > MAX_EXPORT_ROWS || !rows.every((n) => Number.isSafeInteger(n) && n >= 0 && n < ctx.index.count)) {
    throw new ApiError(400, `expected {"rows": [row numbers from 0 to ${ctx.index.count - 1}]}`);
  }
  const sorted = [...new Set(rows as number[])].sort((a, b) => a - b);
  let text = '';
  let skipped = 0;
  for (const n of sorted) {
    const { view } = await readView(ctx, n);
    if (view.id === null) skipped++;
    else text += `${JSON.stringify({ id: view.id, flags: view.flags })}\n`;
  }
  return { text, skipped };
}

async function views(ctx: ApiContext, rows: number[]): Promise<RowView[]> {
  await checkUnchanged(ctx);
  return Promise.all(rows.map(async (n) => (await readView(ctx, n, false)).view));
}

async function readView(ctx: ApiContext, n: number, check = true): Promise<{ view: RowView; value: unknown }> {
  if (!Number.isSafeInteger(n) || n < 0 || n >= ctx.index.count) throw new ApiError(404, `no row ${n} (rows 0 to ${ctx.index.count - 1})`);
  if (check) await checkUnchanged(ctx);
  const { index } = ctx;
  const buf = Buffer.allocUnsafe(index.lengths[n]!);
  const { bytesRead } = await ctx.input.read(buf, 0, buf.length, index.offsets[n]!);
  const value = parseJson(buf.toString('utf8', 0, bytesRead).replace(/^\uFEFF/, ''));
  const row = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  const fields = row && ctx.mapping ? rowFields(row, ctx.mapping) : null;
  const text = fields ? fields.text : typeof row?.text === 'string' ? row.text : typeof row?.extracted_text === 'string' ? row.extracted_text : null;
  const explanation = typeof row?.[ctx.field] === 'string' ? (row[ctx.field] as string) : null;
  const id = fields ? fields.id : datasetKey(row);
  const view: RowView = {
    n,
    line: index.lines[n]!,
    id,
    label: fields ? fields.label : row ? labelOf(row.class_label) : '(none)',
    text,
    textDir: text ? textDirection(text) : 'ltr',
    explanation,
    explanationDir: explanation ? textDirection(explanation) : 'ltr',
    flags: flagNames(index.flags[n]!),
    words: index.words[n]!,
    reason: index.reasons[n] ? index.reasonNames[index.reasons[n]!]! : null,
    hasImage: fields ? fields.imgPath !== null || fields.embedded : typeof row?.img_path === 'string' && row.img_path !== '',
  };
  return { view, value: value === undefined ? buf.toString('utf8', 0, bytesRead) : value };
}

async function checkUnchanged(ctx: ApiContext): Promise<void> {
  const s = await ctx.input.stat();
  if (s.size !== ctx.indexed.size || s.mtimeMs !== ctx.indexed.mtimeMs) {
    throw new ApiError(409, 'the merged file changed since it was indexed: restart the viewer');
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
