import type { ImageDetail } from './request-line.js';

/**
 * Input tokens of an image, from its dimensions, as the provider bills them (and counts them
 * against the enqueued-token quota). Pure: no image is decoded, only width and height are used.
 *
 * Source: OpenAI's images and vision guide, "Calculating costs"
 * (https://platform.openai.com/docs/guides/images-vision), as captured in
 * shared/reference/batch-api.md §3.3. Azure OpenAI bills the same models the same way.
 *
 * Tile models: `low` costs the base tokens (a 512×512 preview). `high` (and `auto`, counted as
 * `high`: an upper bound, since the model may pick `low`): the image is scaled down to fit in
 * 2048×2048, then down so its shortest side is at most 768 px, and each 512-px tile (partial
 * tiles count whole) costs the tile tokens, plus the base once.
 *
 * | family | base | per tile |
 * |---|---|---|
 * | gpt-4o, gpt-4.1, gpt-4.5, gpt-4-turbo/vision, unknown models | 85 | 170 |
 * | gpt-4o-mini | 2833 | 5667 |
 * | gpt-5 (not -mini/-nano) | 70 | 140 |
 * | o1, o1-pro, o3 | 75 | 150 |
 * | computer-use-preview | 65 | 129 |
 *
 * Patch models (gpt-4.1-mini, gpt-4.1-nano, o4-mini, gpt-5-mini, gpt-5-nano): the image is
 * covered by 32×32-px patches; above 1536 patches it is scaled down so that at most 1536 cover
 * it (the scale then shrunk so a side is a whole number of patches); tokens = patches ×
 * multiplier, rounded up: 1.62 (gpt-4.1-mini, gpt-5-mini), 2.46 (gpt-4.1-nano, gpt-5-nano),
 * 1.72 (o4-mini). The guide gives no `low` rule for them: `detail` does not change the count.
 *
 * Worked examples from the guide: gpt-4o 1024×1024 high → 768×768 → 4 tiles → 765; 2048×4096
 * high → 768×1536 → 6 tiles → 1105; any low → 85. Patches: 1024×1024 → 1024 patches;
 * 1800×2400 → 1056×1408 → 33×44 = 1452 patches.
 */

export type ImageTokenRule =
  | { kind: 'tile'; base: number; tile: number }
  | { kind: 'patch'; multiplier: number };

/** Longest side a tile model looks at, and the shortest side it scales down to, in px. */
const FIT_BOX = 2048;
const SHORT_SIDE = 768;
const TILE = 512;
/** Patch side and the patch budget of patch models. */
const PATCH = 32;
const MAX_PATCHES = 1536;

const tile = (base: number, perTile: number): ImageTokenRule => ({ kind: 'tile', base, tile: perTile });
const patch = (multiplier: number): ImageTokenRule => ({ kind: 'patch', multiplier });

/** gpt-4o's rule: the default for names the table does not know (Azure deployments are named freely). */
export const DEFAULT_IMAGE_RULE = tile(85, 170);

/**
 * Model families, first match wins (so `-mini` before its parent). Names are matched loosely:
 * Azure deployments are often the model's name without dots (`gpt-41-mini`, `gpt-35-turbo`).
 */
const FAMILIES: Array<[RegExp, ImageTokenRule]> = [
  [/gpt-?4\.?1-?mini/, patch(1.62)],
  [/gpt-?4\.?1-?nano/, patch(2.46)],
  [/(^|[^a-z0-9])o4-?mini/, patch(1.72)],
  [/gpt-?5(\.\d+)?-?mini/, patch(1.62)],
  [/gpt-?5(\.\d+)?-?nano/, patch(2.46)],
  [/gpt-?4o-?mini/, tile(2833, 5667)],
  [/computer-use/, tile(65, 129)],
  [/(^|[^a-z0-9])o(1|3)(-pro)?($|[^a-z0-9])/, tile(75, 150)],
  [/gpt-?5/, tile(70, 140)],
];

/** The image rule for a model or deployment name (see the table above). */
export function imageTokenRule(model: string): ImageTokenRule {
  const name = model.toLowerCase();
  for (const [test, rule] of FAMILIES) if (test.test(name)) return rule;
  return DEFAULT_IMAGE_RULE;
}

/** Tokens of one image of `width`×`height` px sent with `detail` (left out = `auto`). */
export function imageTokens(width: number, height: number, detail: ImageDetail | undefined, rule: ImageTokenRule): number {
  if (!(width > 0 && height > 0)) throw new RangeError(`image dimensions must be positive, got ${width}×${height}`);
  if (rule.kind === 'patch') return Math.ceil(patchCount(width, height) * rule.multiplier);
  if (detail === 'low') return rule.base;
  const [w, h] = fitForTiles(width, height);
  return rule.base + rule.tile * Math.ceil(w / TILE) * Math.ceil(h / TILE);
}

/** The most an image can cost under `rule` at `detail`: for an image whose dimensions are unknown. */
export function maxImageTokens(detail: ImageDetail | undefined, rule: ImageTokenRule): number {
  if (rule.kind === 'patch') return Math.ceil(MAX_PATCHES * rule.multiplier);
  // 768×2048 is the largest a high-detail image becomes: 2 × 4 tiles.
  return imageTokens(SHORT_SIDE, FIT_BOX, detail, rule);
}

/** The size a tile model works on: fitted in 2048×2048, then its shortest side at most 768. */
export function fitForTiles(width: number, height: number): [number, number] {
  let w = width;
  let h = height;
  const fit = Math.min(1, FIT_BOX / Math.max(w, h));
  w *= fit;
  h *= fit;
  const short = Math.min(1, SHORT_SIDE / Math.min(w, h));
  return [roundPx(w * short), roundPx(h * short)];
}

/** Patches covering the image, after scaling it down to at most 1536 of them. */
export function patchCount(width: number, height: number): number {
  const cover = (w: number, h: number) => Math.ceil(roundPx(w) / PATCH) * Math.ceil(roundPx(h) / PATCH);
  const full = cover(width, height);
  if (full <= MAX_PATCHES) return full;
  const r = Math.sqrt((PATCH * PATCH * MAX_PATCHES) / (width * height));
  // Shrink further so that one side is a whole number of patches (the guide's second step).
  const scale = Math.min((Math.floor((width * r) / PATCH) * PATCH) / width, (Math.floor((height * r) / PATCH) * PATCH) / height);
  return Math.min(MAX_PATCHES, cover(width * scale, height * scale));
}

/** Rounds away floating-point dust (1056.0000000001 px is 1056 px), not real fractions. */
function roundPx(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - r) < 1e-6 ? r : x;
}
