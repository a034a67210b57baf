/**
 * The items that flow between stages. Stages spread the item they receive into the one they
 * emit, so fields added by a custom stage upstream travel through to the end.
 */

/** A stage that is an async-generator transform, as `pipeline()` from `node:stream/promises` accepts. */
export type Stage<I, O> = (source: AsyncIterable<I>, options?: { signal?: AbortSignal }) => AsyncGenerator<O>;

/** One non-blank line of a JSONL file, parsed. */
export interface JsonlRecord {
  /** 1-based physical line number in the source (blank lines count). */
  line: number;
  /** The parsed JSON value: any JSON, not yet checked. */
  value: unknown;
  /** In a JSON object keyed by id (MMHS150K), the record's key: the row's id when it has none of its own. */
  key?: string;
}

/** A dataset row once its required fields are checked and normalised. */
export interface DatasetRow {
  line: number;
  /** `id`, a number turned into its string. Becomes the request's `custom_id`. */
  id: string;
  /** `img_path` as written in the dataset (for an embedded image, its `path` or `""`). */
  imgPath: string;
  /** The image's bytes, when the dataset embeds them (Parquet `{bytes, path}` or binary): no file is read. */
  imageData?: Uint8Array;
  /** `class_label`, an array of strings joined with ", ". */
  label: string;
  /** `text` (or `extracted_text`), when the row has one. */
  text?: string;
}

/** A row whose image was found on disk, or (with `imageUrls` `fetch` or `passthrough`) whose image is a URL. */
export interface ResolvedImage {
  /** Absolute path of the image file; for a remote image, its URL. */
  imageFile: string;
  /** Its size when it was looked at, in bytes; 0 for a remote image (not known before it is fetched). */
  imageBytes: number;
  /** Set when `imageFile` is an http(s) URL: `fetch` (encodeImage downloads it) or `passthrough` (the URL goes into the request). */
  remote?: 'fetch' | 'passthrough';
}

/**
 * An image as a data URI whose base64 text is not built yet: it is encoded once, in slices,
 * straight into the output buffer when the request line is written. Encoding a 150 KB image
 * with one `toString('base64')` is about 50 times slower on our machines (see bench/RESULTS.md).
 */
export interface DataUri {
  /** Sniffed from the bytes, e.g. `image/png`. */
  mime: ImageMime;
  /** The raw image bytes. */
  data: Buffer;
  /**
   * Its size in px, as it is put in the request (read from the header by encodeImage; a stage
   * that resizes sets the new size). Token estimates use it; unknown counts as the largest image.
   */
  width?: number;
  height?: number;
}

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif';
export type ImageMime = 'image/jpeg' | 'image/png' | 'image/webp' | 'image/gif';

export interface EncodedImage {
  /** The image as it goes into the request: a data URI, or a URL with `imageUrls: 'passthrough'`. */
  image: DataUri | string;
}

export interface PromptedRow {
  /** The full user text: the prompt with the label, then the extracted text. */
  prompt: string;
}

/**
 * A Batch API request line, serialised once into segments: JSON text before and after the
 * image, and the image itself. Joined, the segments are the line (without its newline).
 */
export interface RequestLine {
  line: number;
  customId: string;
  segments: ReadonlyArray<string | DataUri>;
  /** Exact UTF-8 length of the line including its trailing newline. */
  byteLength: number;
  /**
   * Byte offset in the line where the value of `body` starts; it ends before the line's closing
   * brace. Set by the line builder (core/requests/request-line.ts), so direct mode takes the body where it
   * lies without scanning the line.
   */
  bodyStart?: number;
  /** Estimated input tokens of the request (core/requests/token-estimate.ts), when estimated. */
  tokens?: number;
}

/** A finished shard file. */
export interface ShardRecord {
  /** Path of the shard file, or `-` when lines went to a stream. */
  path: string;
  /** 1-based shard number. */
  index: number;
  rows: number;
  /** Bytes in the file, newlines included. */
  bytes: number;
  /** sha256 of the file's bytes, hex. */
  sha256: string;
  first_line: number;
  last_line: number;
  /** Estimated input tokens of its requests (absent when a request was not estimated, or for shards of older builds). */
  input_tokens?: number;
  /**
   * The resubmission round it was built for (absent: the first submission). Two rounds can build
   * byte-identical shards (the same rows failed again): the round tells them apart in the manifest.
   */
  round?: number;
}

/** Why a row could not become a request. A reject is data, never an `'error'` event. */
export interface Reject {
  /** The dataset file, or `-` for stdin. */
  file?: string;
  line: number;
  id?: string;
  stage: string;
  code: RejectCode;
  message: string;
}

/** What a per-row step returns: the row for the next stage, or why it stops here. */
export type Outcome<T> = { row: T; reject?: undefined } | { row?: undefined; reject: Reject };

export type OnReject = (reject: Reject) => void | Promise<void>;

export const REJECT_CODES = {
  E_BAD_JSON: 'the line is not valid JSON (in a JSON document: the document breaks off or is malformed at that record)',
  E_BAD_CSV: 'a CSV/TSV record with another number of fields than the header, or malformed quoting',
  E_BAD_PARQUET: 'a Parquet row group that cannot be decoded (each of its rows is rejected)',
  E_NOT_OBJECT: 'the line is JSON but not an object',
  E_MISSING_FIELD: 'a required field is missing or null',
  E_FIELD_TYPE: 'a field has the wrong type',
  E_EMPTY_FIELD: 'a required field is empty',
  E_LABEL_UNMAPPED: 'the label is not named in --label-map (or the preset\'s)',
  E_REMOTE_IMAGE: 'img_path is a URL and remote images are not enabled',
  E_REMOTE_REFUSED: 'the URL, or a redirect, is not http(s) or leads to a private address',
  E_REMOTE_FETCH: 'the image could not be downloaded (HTTP error, timeout, network, redirects)',
  E_IMAGE_OUTSIDE_ROOT: 'img_path leads outside the image root (--confine)',
  E_IMAGE_NOT_FOUND: 'the image file does not exist',
  E_IMAGE_UNREADABLE: 'the image path is not a readable file',
  E_IMAGE_EMPTY: 'the image file is empty',
  E_IMAGE_TOO_LARGE: 'the image file is over --max-image-bytes',
  E_IMAGE_FORMAT: 'the bytes are not JPEG, PNG, WEBP or GIF',
  E_IMAGE_TRUNCATED: 'the image file ends before its format says it should',
  E_IMAGE_DECODE: 'with --resize: the image cannot be decoded',
  E_REQUEST_TOO_LARGE: 'the request alone is over the shard byte (or token) budget',
  E_DUPLICATE_ID: 'the id is already in the same shard',
} as const;

export type RejectCode = keyof typeof REJECT_CODES;
