import { optionError } from '../../errors.js';

/** Checks shared by stage factories: each throws a coded error quoting the bad value. */

export function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw optionError(name, value, 'a positive integer');
  }
  return value;
}

export function nonNegativeInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw optionError(name, value, 'an integer of 0 or more');
  }
  return value;
}

export function nonEmptyString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw optionError(name, value, 'a non-empty string');
  return value;
}

export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw optionError(name, value, `one of ${allowed.join(', ')}`);
  }
  return value as T;
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** Parses a byte size: `180000000`, `180MB` (10^6), `180MiB` (2^20), `1.5GB`. */
export function parseByteSize(name: string, value: unknown): number {
  if (typeof value === 'number') return positiveInteger(name, value);
  if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value.replaceAll('_', ''));
    const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
    if (m && unit !== undefined) {
      const bytes = Math.floor(Number(m[1]) * unit);
      if (Number.isSafeInteger(bytes) && bytes >= 1) return bytes;
    }
  }
  throw optionError(name, value, 'a byte size such as 180000000, 180MB or 180MiB');
}
