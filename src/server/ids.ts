import { createHash, randomBytes } from 'node:crypto';

/**
 * Object ids of the local server. They are opaque to clients and checked against these shapes
 * before any lookup, so an id can never name a path outside the data folder.
 */
export const FILE_ID = /^file-[0-9a-f]{24}$/;
export const BATCH_ID = /^batch_[0-9a-f]{24}$/;

export function newFileId(): string {
  return `file-${randomBytes(12).toString('hex')}`;
}

/**
 * The id of a batch's output or error file: the same for every attempt at the batch, so an attempt
 * cut short after its file was recorded (the server killed before the batch was marked done) is
 * replaced by the next attempt rather than left behind as an orphan file.
 */
export function batchFileId(batchId: string, kind: 'output' | 'error'): string {
  return `file-${createHash('sha256').update(`${batchId}:${kind}`).digest('hex').slice(0, 24)}`;
}

export function newBatchId(): string {
  return `batch_${randomBytes(12).toString('hex')}`;
}

export function newRequestId(): string {
  return `req_${randomBytes(12).toString('hex')}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
