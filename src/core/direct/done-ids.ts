import { closeSync, openSync, readSync, fstatSync, ftruncateSync, fsyncSync } from 'node:fs';
import { hashBytes, idLiteral, plainLiteralAt, type LiteralRange } from '../json/id-key.js';
import { bufferLines } from '../io/sync-lines.js';
import { optionError } from '../../errors.js';

/**
 * The ids that already have an answer, for direct mode's resume: a compact open-addressing hash
 * set that holds no id. Each slot is a 32-bit fingerprint of the id's JSON literal and a pointer
 * to where that literal lies in a result file (file number × 2^40 + byte offset): 12 bytes. The
 * table doubles when it is three quarters full, so it holds between 12/0.75 = 16 and 32 bytes
 * per id: at most 32 MB for a million ids, 320 MB for ten million.
 *
 * A fingerprint that matches is confirmed by reading the literal back from its file and comparing
 * the bytes, so the answer is exact: two ids whose fingerprints collide are told apart, and an id
 * is never skipped because another was answered. (A wrong "no" costs a request sent again; a wrong
 * "yes" would cost a row.)
 */
export class DoneIds {
  #fingerprints: Uint32Array;
  #pointers: Float64Array;
  #mask: number;
  #size = 0;
  readonly #files: Array<{ path: string; fd: number }> = [];
  readonly #hash: (buf: Buffer, start: number, end: number) => number;
  #scratch = Buffer.allocUnsafe(256);

  /** `hash`: of a literal's bytes (default the merge's 52-bit hash; tests pass a constant to force collisions). */
  constructor(options: { hash?: (buf: Buffer, start: number, end: number) => number; capacity?: number } = {}) {
    this.#hash = options.hash ?? hashBytes;
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(16, options.capacity ?? 1024)));
    this.#fingerprints = new Uint32Array(capacity);
    this.#pointers = new Float64Array(capacity).fill(-1);
    this.#mask = capacity - 1;
  }

  get size(): number {
    return this.#size;
  }

  /** Memory of the table, in bytes. */
  get bytes(): number {
    return this.#fingerprints.byteLength + this.#pointers.byteLength;
  }

  /** Opens a result file whose literals {@link add} will point into; returns its number. */
  openFile(path: string): number {
    if (this.#files.length >= MAX_FILES) throw optionError('files', this.#files.length, `at most ${MAX_FILES} result files`);
    this.#files.push({ path, fd: openSync(path, 'r') });
    return this.#files.length - 1;
  }

  /** Adds the id whose JSON literal is `literal`, found in file `file` at byte `offset`. */
  add(literal: LiteralRange, file: number, offset: number): void {
    if (this.#size + 1 > this.#pointers.length * 0.75) this.#grow();
    const fp = this.#hash(literal.buf, literal.start, literal.end) >>> 0;
    let i = fp & this.#mask;
    while (this.#pointers[i] !== -1) i = (i + 1) & this.#mask;
    this.#fingerprints[i] = fp;
    this.#pointers[i] = file * FILE_FACTOR + offset;
    this.#size++;
  }

  /** Whether `id` was added (exactly: a matching fingerprint is confirmed on disk). */
  has(id: string): boolean {
    if (this.#size === 0) return false;
    const literal = idLiteral(id);
    const fp = this.#hash(literal, 0, literal.length) >>> 0;
    for (let i = fp & this.#mask; this.#pointers[i] !== -1; i = (i + 1) & this.#mask) {
      if (this.#fingerprints[i] === fp && this.#confirm(this.#pointers[i]!, literal)) return true;
    }
    return false;
  }

  close(): void {
    for (const f of this.#files.splice(0)) closeSync(f.fd);
  }

  #confirm(pointer: number, literal: Buffer): boolean {
    const file = this.#files[Math.floor(pointer / FILE_FACTOR)]!;
    if (this.#scratch.length < literal.length) this.#scratch = Buffer.allocUnsafe(literal.length * 2);
    const n = readSync(file.fd, this.#scratch, 0, literal.length, pointer % FILE_FACTOR);
    return n === literal.length && this.#scratch.compare(literal, 0, n, 0, n) === 0;
  }

  #grow(): void {
    const fingerprints = this.#fingerprints;
    const pointers = this.#pointers;
    this.#fingerprints = new Uint32Array(fingerprints.length * 2);
    this.#pointers = new Float64Array(pointers.length * 2).fill(-1);
    this.#mask = this.#pointers.length - 1;
    for (let j = 0; j < pointers.length; j++) {
      if (pointers[j] === -1) continue;
      let i = fingerprints[j]! & this.#mask;
      while (this.#pointers[i] !== -1) i = (i + 1) & this.#mask;
      this.#fingerprints[i] = fingerprints[j]!;
      this.#pointers[i] = pointers[j]!;
    }
  }
}

/** Byte offsets up to 1 TiB per file; 8,192 files. */
const FILE_FACTOR = 2 ** 40;
const MAX_FILES = 2 ** 13;

/** Direct mode's result lines start `{"id":"direct_req_…","custom_id":`. */
const PREFIX = /^\{"id":"[^"\\]*","custom_id":/;

/**
 * Adds the `custom_id` of every line of `files` (direct mode's output files: successes only).
 * A line is read only up to its id; an id with escapes is found by its literal in the line. A
 * line without a readable id is counted and left out (its row is sent again). Returns the lines
 * added and left out.
 */
export function addResultFiles(done: DoneIds, files: readonly string[]): { added: number; unreadable: number } {
  let added = 0;
  let unreadable = 0;
  const range: LiteralRange = { buf: Buffer.alloc(0), start: 0, end: 0 };
  for (const path of files) {
    const file = done.openFile(path);
    for (const v of bufferLines(path)) {
      if (v.end === v.start) continue;
      if (plainLiteralAt(v.buf, v.start, v.end, PREFIX, range)) {
        done.add(range, file, v.offset + (range.start - v.start));
        added++;
        continue;
      }
      const at = escapedIdAt(v.buf, v.start, v.end);
      if (at === null) {
        unreadable++;
        continue;
      }
      done.add({ buf: at.literal, start: 0, end: at.literal.length }, file, v.offset + (at.index - v.start));
      added++;
    }
  }
  return { added, unreadable };
}

/** Where the id of a line of another shape lies, as JSON.stringify writes it; null when not found. */
function escapedIdAt(buf: Buffer, start: number, end: number): { literal: Buffer; index: number } | null {
  let id: unknown;
  try {
    id = (JSON.parse(buf.toString('utf8', start, end)) as { custom_id?: unknown })?.custom_id;
  } catch {
    return null;
  }
  if (typeof id !== 'string') return null;
  const literal = idLiteral(id);
  const index = buf.indexOf(literal, start);
  return index === -1 || index + literal.length > end ? null : { literal, index };
}

/**
 * Cuts a last line without its newline off `path`: what a process killed in the middle of a
 * write leaves. Returns the bytes cut. Lines are written whole, newline included, so every
 * complete line ends with one.
 */
export function cutPartialLastLine(path: string): number {
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.allocUnsafe(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - buf.length);
      const n = readSync(fd, buf, 0, end - start, start);
      const nl = buf.lastIndexOf(10, n - 1);
      if (nl !== -1) {
        const keep = start + nl + 1;
        if (keep < size) {
          ftruncateSync(fd, keep);
          fsyncSync(fd);
        }
        return size - keep;
      }
      end = start;
    }
    if (size > 0) {
      ftruncateSync(fd, 0);
      fsyncSync(fd);
    }
    return size;
  } finally {
    closeSync(fd);
  }
}
