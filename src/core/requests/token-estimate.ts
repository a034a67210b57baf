import { imageDimensions } from '../images/image-dimensions.js';
import { imageTokenRule, imageTokens, maxImageTokens, type ImageTokenRule } from './image-tokens.js';
import type { ImageDetail } from './request-line.js';
import { loadEncoding, type TextEncoding } from './tokenizer.js';

/**
 * Input-token estimates of chat requests, as the Batch API counts them against the
 * enqueued-token quota: text tokens with the model's own tokenizer (gpt-tokenizer), image
 * tokens from the image's dimensions (core/requests/image-tokens.ts), and the chat format's overhead.
 * Estimates, not bills: a `json_schema` response format adds tokens the provider does not
 * publish, and `detail: auto` is counted as `high`.
 */

export type { TextEncoding };
export type TextCounter = (text: string) => number;

/**
 * Chat format overhead, from OpenAI's cookbook "How to count tokens with tiktoken"
 * (num_tokens_from_messages): 3 tokens frame every message (`<|start|>`, `<|message|>`,
 * `<|end|>`) plus its role (1 token for `user`), and 3 prime the reply.
 */
export const MESSAGE_TOKENS = 4;
export const REPLY_TOKENS = 3;

/** cl100k_base for gpt-4 (not 4o/4.1/4.5) and gpt-3.5 (`gpt-35` on Azure); o200k_base for the rest (4o, 4.1, 4.5, o-series, gpt-5). */
export function textEncodingFor(model: string): TextEncoding {
  return /gpt-?3\.?5|gpt-?4(?![o.\d])/.test(model.toLowerCase()) ? 'cl100k_base' : 'o200k_base';
}

/** Special-token text in a dataset (`<|endoftext|>`) is counted as plain text, never refused. */
const AS_TEXT = { disallowedSpecial: new Set<string>() };

/** The text token counter of `encoding` (core/requests/tokenizer.ts: built on first use, one per process). */
export async function loadTextCounter(encoding: TextEncoding): Promise<TextCounter> {
  const tokenizer = await loadEncoding(encoding);
  return (text) => tokenizer.countTokens(text, AS_TEXT);
}

/**
 * A counter for text nobody has checked (request bodies of files, lines at the local server):
 * word by word through a cache ({@link wordCachedCounter}, exact), a word of over 256
 * characters in slices ({@link slicedCounter}: one run of letters would take minutes whole).
 */
export async function loadUncheckedTextCounter(encoding: TextEncoding): Promise<TextCounter> {
  return wordCachedCounter(slicedCounter(await loadTextCounter(encoding)));
}

export interface RequestTokenOptions {
  /** The model or deployment name: picks the image rule (and, through the caller, the encoding). */
  model: string;
  /** The requests' `detail`; left out means `auto`. */
  detail?: ImageDetail;
  countText: TextCounter;
  /**
   * What comes before the row's text in the prompt, for a label (the template with the label and
   * the text prefix), when the prompts are made so: the prompt is then not searched, only its
   * length checked. Without it the head is found in each prompt.
   */
  promptHead?: (label: string) => string;
}

export interface RequestTokenInput {
  /** The user text of the request. */
  prompt: string;
  /** The row's label and text: the prompt's head is the same for every row of a label, so its tokens are counted once. */
  label?: string;
  text?: string;
  /** The image as it is put in the request: its dimensions, or nothing known (a URL, a damaged header). */
  image?: { width?: number; height?: number } | string;
}

/** Labels whose prompt head is remembered; past it the oldest is forgotten. */
const HEAD_CACHE_SIZE = 256;
/** Words whose token count is remembered (~3 MB); past it the oldest is forgotten. */
const WORD_CACHE_SIZE = 50_000;
/** Longer pieces (text without spaces: CJK, URLs) are counted each time, not remembered. */
const WORD_MAX_LENGTH = 32;

/**
 * A counter that splits text into words before a space that is followed by a non-space (`"a"`,
 * `" word"`, `" ,"`) and remembers each word's count. Exact: in both encodings no pre-token
 * contains a space other than as its first character, except runs of whitespace, and such a run
 * before a non-space leaves its last space to the next pre-token (`\s+(?!\S)`); there are no
 * look-behinds, and BPE merges never cross pre-tokens. A row's text is then a few map look-ups:
 * in a build of 40-word Arabic texts, ~10 µs a row against ~60 µs through the tokenizer alone.
 */
export function wordCachedCounter(countText: TextCounter): TextCounter {
  const words = new Map<string, number>();
  const countWord = (word: string): number => {
    if (word.length > WORD_MAX_LENGTH) return countText(word);
    let n = words.get(word);
    if (n === undefined) {
      n = countText(word);
      if (words.size >= WORD_CACHE_SIZE) words.delete(words.keys().next().value!);
      words.set(word, n);
    }
    return n;
  };
  return (text) => {
    let tokens = 0;
    let start = 0;
    for (let i = text.indexOf(' ', 1); i !== -1 && i < text.length - 1; i = text.indexOf(' ', i + 1)) {
      if (/\s/.test(text[i + 1]!)) continue;
      tokens += countWord(text.slice(start, i));
      start = i;
    }
    return tokens + countWord(text.slice(start));
  };
}

/** Longest piece {@link slicedCounter} gives the tokenizer at once, in UTF-16 units. */
export const MAX_PIECE_LENGTH = 256;

/**
 * A counter that counts text in pieces of at most `maxPiece` characters (cut between surrogate
 * pairs), for text no one has checked. BPE's cost grows with the square of a pre-token's length,
 * and a run of letters without a space is one pre-token: 48,000 Arabic letters take ~8 s to count
 * at once, 192,000 ~110 s; in slices of 256 all 300,000 take ~8 ms (measured on Node 20,
 * o200k_base). The count is then an estimate: merges across a cut are lost (0.2% under for that
 * text). Text in words is unchanged: `wordCachedCounter` gives the tokenizer a word at a time.
 */
export function slicedCounter(countText: TextCounter, maxPiece = MAX_PIECE_LENGTH): TextCounter {
  return (text) => {
    if (text.length <= maxPiece) return countText(text);
    let tokens = 0;
    for (let start = 0; start < text.length; ) {
      let end = Math.min(text.length, start + maxPiece);
      const code = text.charCodeAt(end - 1);
      if (end < text.length && code >= 0xd800 && code <= 0xdbff) end--;
      tokens += countText(text.slice(start, end));
      start = end;
    }
    return tokens;
  };
}

/**
 * Returns the estimator of one request's input tokens: overhead + prompt tokens + image tokens.
 *
 * Tokenizing a 1.1 kB prompt costs ~100 µs, a third of a row's build time; but the prompt is the
 * template with the label (the same for every row of a label) followed by the row's text. The
 * head, up to the last newline before the text, is tokenized once per label; per row only the
 * rest is. The split is exact: in both encodings no pre-token spans a newline and the
 * non-whitespace character after it, and BPE merges never cross pre-tokens.
 */
export function requestTokenEstimator(options: RequestTokenOptions): (input: RequestTokenInput) => number {
  const rule = imageTokenRule(options.model);
  const { countText, detail } = options;
  // Per row only the text is counted, word by word through a cache; a "word" of thousands of
  // letters (a hostile or broken row) in slices, so that one row cannot stall the build.
  const countTail = wordCachedCounter(slicedCounter(countText));
  const heads = new Map<string, { head: string; tokens: number }>();

  const known = new Map<string, { length: number; tokens: number; rest: string } | null>();
  const promptHead = options.promptHead;
  /** Tokens of `promptHead(label)` up to its last newline, and the rest of it; null when it has no usable newline. */
  const headOf = (label: string) => {
    let h = known.get(label);
    if (h === undefined) {
      const head = promptHead!(label);
      const cut = head.lastIndexOf('\n') + 1;
      h = cut === 0 || (cut < head.length && /\s/.test(head[cut]!)) ? null : { length: head.length, tokens: countTail(head.slice(0, cut)), rest: head.slice(cut) };
      if (known.size >= HEAD_CACHE_SIZE) known.delete(known.keys().next().value!);
      known.set(label, h);
    }
    return h;
  };

  const promptTokens = (prompt: string, label: string | undefined, text: string | undefined): number => {
    const tail = text ?? '';
    if (promptHead && label !== undefined) {
      const h = headOf(label);
      const rest = h ? h.rest + tail : '';
      if (h && prompt.length === h.length + tail.length && rest !== '' && !/\s/.test(rest[0]!)) return h.tokens + countTail(rest);
    }
    if (label === undefined || !prompt.endsWith(tail)) return countTail(prompt);
    const cut = prompt.lastIndexOf('\n', prompt.length - tail.length - 1) + 1;
    if (cut === 0 || cut >= prompt.length || /\s/.test(prompt[cut]!)) return countTail(prompt);
    const known = heads.get(label);
    if (known && known.head.length === cut && prompt.startsWith(known.head)) return known.tokens + countTail(prompt.slice(cut));
    const head = prompt.slice(0, cut);
    const tokens = countTail(head);
    if (heads.size >= HEAD_CACHE_SIZE) heads.delete(heads.keys().next().value!);
    heads.set(label, { head, tokens });
    return tokens + countTail(prompt.slice(cut));
  };

  return (input) => {
    let tokens = MESSAGE_TOKENS + REPLY_TOKENS + promptTokens(input.prompt, input.label, input.text);
    if (input.image !== undefined) tokens += imageCost(input.image, detail, rule);
    return tokens;
  };
}

function imageCost(image: { width?: number; height?: number } | string, detail: ImageDetail | undefined, rule: ImageTokenRule): number {
  if (typeof image !== 'string' && image.width && image.height) return imageTokens(image.width, image.height, detail, rule);
  return maxImageTokens(detail, rule);
}

/**
 * The same estimate from a request body as sent (`{model, messages}`), for the local server:
 * every message's text parts and images (dimensions read from the data URI's header).
 */
export function requestBodyTokens(body: Record<string, unknown>, countText: TextCounter): number {
  const rule = imageTokenRule(typeof body.model === 'string' ? body.model : '');
  let tokens = REPLY_TOKENS;
  for (const m of Array.isArray(body.messages) ? (body.messages as Array<{ content?: unknown }>) : []) {
    tokens += MESSAGE_TOKENS;
    if (typeof m?.content === 'string') tokens += countText(m.content);
    else if (Array.isArray(m?.content)) {
      for (const p of m.content as Array<{ type?: string; text?: unknown; image_url?: { url?: unknown; detail?: ImageDetail } }>) {
        if (p?.type === 'text' && typeof p.text === 'string') tokens += countText(p.text);
        else if (p?.type === 'image_url') tokens += imageCost(dataUriDimensions(p.image_url?.url) ?? '', p.image_url?.detail, rule);
      }
    }
  }
  return tokens;
}

function dataUriDimensions(url: unknown): { width: number; height: number } | null {
  if (typeof url !== 'string' || !url.startsWith('data:')) return null;
  const comma = url.indexOf(',');
  return comma === -1 ? null : imageDimensions(Buffer.from(url.slice(comma + 1), 'base64'));
}
