// Generates a merged file (merge's output) and its errors file, with rows of known quality, and
// returns what `report` must find, counted here from what was written (not by batch-explain's
// code): rows, reasons, flags, labels, word counts, the most repeated explanations.
// Row i is, by i % 20: 0 without an explanation (api_error, truncated, not_sent in turn),
// 1 too short, 2 too long, 3 in English (the prompt asks for Arabic), 4 questioning the label,
// 5 JSON left in, 6 one of 50 texts shared by many rows, 7-19 a normal, unique explanation.
//   node bench/gen-merged.mjs --rows N --out FILE [--words 60]   (errors: FILE.errors.jsonl)
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { parseArgs } from 'node:util';

const AR = ['من', 'في', 'على', 'إلى', 'عن', 'مع', 'هذا', 'ميم', 'نص', 'صورة', 'علم', 'شعار', 'رأي', 'قوم', 'ناس', 'دعم', 'حشد', 'خوف', 'فخر', 'سخر'];
const EN = ['the', 'meme', 'flag', 'text', 'image', 'joke', 'crowd', 'leader', 'fear', 'pride'];
const LABELS = ['propaganda', 'not-propaganda', 'hateful'];
const REASONS = ['api_error', 'truncated', 'not_sent'];
const DUPS = 50;
const ARABIC_DIGITS = '٠١٢٣٤٥٦٧٨٩';

/** Words (each with a letter) → text; the last word makes it unique: the row number in Arabic-Indic digits after a letter. */
function words(n, vocab, rand, unique) {
  const out = [];
  for (let k = 0; k < n - 1; k++) out.push(vocab[Math.floor(rand() * vocab.length)]);
  out.push(`ر${String(unique).replace(/\d/g, (d) => ARABIC_DIGITS[d])}`);
  return out;
}

export async function generateMerged({ rows, out, errorsOut = `${out}.errors.jsonl`, meanWords = 60, imagePath = 'images/banner.jpg', seed = 5 }) {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const dupTexts = Array.from({ length: DUPS }, (_, k) => words(60, AR, rand, 1e9 + k).join(' '));
  const truth = {
    rows,
    explained: 0,
    byReason: {},
    byFlag: { missing: 0, too_short: 0, too_long: 0, wrong_language: 0, mentions_reclassification: 0, not_plain_text: 0, duplicate_text: 0 },
    flaggedRows: 0,
    labels: Object.fromEntries(LABELS.map((l) => [l, { rows: 0, explained: 0, words: [] }])),
    words: [],
    dupFirst: new Map(),
    dupCount: new Array(DUPS).fill(0),
  };
  const data = createWriteStream(out);
  const errors = createWriteStream(errorsOut);
  for (let i = 0; i < rows; i++) {
    const kind = i % 20;
    const label = LABELS[i % LABELS.length];
    const id = `row-${i}`;
    let explanation = null;
    let n = 0;
    const span = Math.max(1, meanWords - 40);
    if (kind === 0) {
      const reason = REASONS[Math.floor(i / 20) % REASONS.length];
      truth.byReason[reason] = (truth.byReason[reason] ?? 0) + 1;
      truth.byFlag.missing++;
      const e = { line: i + 1, id, reason, message: `generated ${reason}` };
      if (!errors.write(`${JSON.stringify(e)}\n`)) await once(errors, 'drain');
    } else if (kind === 1) {
      n = 5 + Math.floor(rand() * 35);
      explanation = words(n, AR, rand, i).join(' ');
      truth.byFlag.too_short++;
    } else if (kind === 2) {
      n = 161 + Math.floor(rand() * 40);
      explanation = words(n, AR, rand, i).join(' ');
      truth.byFlag.too_long++;
    } else if (kind === 3) {
      n = 40 + Math.floor(rand() * span);
      explanation = words(n, EN, rand, i).join(' ');
      truth.byFlag.wrong_language++;
    } else if (kind === 4) {
      n = 40 + Math.floor(rand() * span);
      explanation = ['التصنيف', 'غير', 'دقيق', ...words(n - 3, AR, rand, i)].join(' ');
      truth.byFlag.mentions_reclassification++;
    } else if (kind === 5) {
      n = 40 + Math.floor(rand() * span);
      // `{"explanation":` is a word too (it holds letters).
      explanation = `{"explanation": "${words(n - 1, AR, rand, i).join(' ')}"}`;
      truth.byFlag.not_plain_text++;
    } else if (kind === 6) {
      const k = Math.floor(i / 20) % DUPS;
      n = 60;
      explanation = dupTexts[k];
      truth.dupCount[k]++;
      if (!truth.dupFirst.has(k)) truth.dupFirst.set(k, id);
    } else {
      n = 40 + Math.floor(rand() * (2 * span));
      explanation = words(n, AR, rand, i).join(' ');
    }
    const l = truth.labels[label];
    l.rows++;
    if (explanation !== null) {
      truth.explained++;
      l.explained++;
      l.words.push(n);
      truth.words.push(n);
    }
    if (kind <= 5) truth.flaggedRows++;
    const row = { id, img_path: imagePath, class_label: label, text: `نص الميم رقم ${i}`, lang: 'ar', generated_explanation: explanation };
    if (!data.write(`${JSON.stringify(row)}\n`)) await once(data, 'drain');
  }
  for (const [k, count] of truth.dupCount.entries()) {
    if (count >= 2) {
      truth.byFlag.duplicate_text += count;
      truth.flaggedRows += count;
    }
  }
  data.end();
  errors.end();
  await Promise.all([once(data, 'finish'), once(errors, 'finish')]);
  truth.dupTexts = dupTexts;
  return truth;
}

/** The benchmarks' file of `rows` rows (~100-word explanations) in `dir`, made once: its path and what report must find in it. */
export async function benchMerged({ rows, dir }) {
  await mkdir(dir, { recursive: true });
  const input = path.join(dir, 'merged.jsonl');
  const truthFile = path.join(dir, 'truth.json');
  if (!existsSync(truthFile)) {
    const t = await generateMerged({ rows, out: input, meanWords: 100 });
    await writeFile(truthFile, JSON.stringify({ rows: t.rows, explained: t.explained, byFlag: t.byFlag, byReason: t.byReason, flaggedRows: t.flaggedRows }));
  }
  return { input, truth: JSON.parse(await readFile(truthFile, 'utf8')) };
}

/** The lower middle value of a list of numbers (the report's median). */
export function lowerMedian(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(sorted.length / 2) - 1];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { rows: { type: 'string' }, out: { type: 'string' }, words: { type: 'string', default: '60' } } });
  await generateMerged({ rows: Number(values.rows), out: values.out, meanWords: Number(values.words) });
}
