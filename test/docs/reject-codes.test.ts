// docs/reject-codes.md lists every reject code the stages can give, and no other.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REJECT_CODES } from '../../src/types.js';

describe('docs/reject-codes.md', () => {
  it("has a row for each of REJECT_CODES and names no code the project does not have", () => {
    const page = readFileSync(new URL('../../docs/reject-codes.md', import.meta.url), 'utf8');
    const rows = [...page.matchAll(/^\| `(E_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(rows.sort()).toEqual(Object.keys(REJECT_CODES).sort());
    const named = new Set([...page.matchAll(/\bE_[A-Z_]+\b/g)].map((m) => m[0]));
    for (const code of named) expect(Object.keys(REJECT_CODES)).toContain(code);
  });
});
