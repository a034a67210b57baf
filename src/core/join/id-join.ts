// The merge's join of one hash's group (step 3 of pipeline/merge.ts): dataset rows and result pointers with the same hashed id, as entries of the sort by pointer.
import { readDecimal } from '../io/decimal.js';
import { failurePayload } from '../results/result-batch.js';
import type { EntryBatch } from '../sort/entry-batch.js';
import type { EntryGroup } from '../sort/entry-group.js';
import { literalId, readDatasetKey, readPointerKey, type DatasetKey, type PointerKey } from './join-keys.js';

/** What the join counts. */
export interface IdJoinCounts {
  duplicateIdRows: number;
  extraResults: number;
  unmatchedResults: number;
}

/**
 * The join of one hash's group, for {@link mergeJoinEntries}: dataset entries
 * (`<line>\t<literal>`) on the left, result pointers (`<src>\t<offset>\t<order>\t<literal>`) on
 * the right; each row comes out keyed by its result's pointer (`src × 2^40 + offset`), to be
 * sorted by it and read in file order:
 * - the usual group, one row and one result with the same literal: `<line>` keyed by the pointer, straight from the bytes;
 * - a row with several results (a resubmission's, a repeat): `<line>\t<order>` once per result, keyed by its pointer (the best is kept at the end);
 * - a row with no result, or whose id is on several rows: `<line>\t<failure>` keyed -1;
 * - results with no row are counted, and dropped.
 * Ids whose hashes collide are told apart by their literals.
 */
export function idJoin(counts: IdJoinCounts, pending: boolean): (hash: number, lefts: EntryGroup, rights: EntryGroup, out: EntryBatch) => void {
  const joinId = (literal: string, lefts: DatasetKey[], rights: PointerKey[], out: EntryBatch): void => {
    if (lefts.length === 0) {
      counts.unmatchedResults += rights.length;
      return;
    }
    if (rights.length > 1) counts.extraResults += rights.length - 1;
    if (lefts.length > 1) {
      counts.duplicateIdRows += lefts.length;
      const id = literalId(literal);
      const lines = lefts.map((l) => l.line);
      const message = `id ${JSON.stringify(id)} is on ${lefts.length} lines (${lines.slice(0, 5).join(', ')}${lines.length > 5 ? ', …' : ''}): which answer belongs to which row cannot be told`;
      for (const l of lefts) out.addText(-1, `${l.line}\t${failurePayload(id, 'duplicate_id', null, message)}`);
      return;
    }
    const line = lefts[0]!.line;
    if (rights.length === 0) {
      const id = literalId(literal);
      const failure = pending ? failurePayload(id, 'pending', null, 'its batch is not finished or not downloaded yet') : failurePayload(id, 'no_result', null, 'no result line for this id');
      out.addText(-1, `${line}\t${failure}`);
      return;
    }
    for (const p of rights) out.addText(p.src * 2 ** 40 + p.offset, rights.length > 1 ? `${line}\t${p.order}` : String(line));
  };
  return (hash, lefts, rights, out) => {
    if (joinOne(lefts, rights, out)) return;
    const ls = lefts.map(hash, readDatasetKey);
    const rs = rights.map(hash, readPointerKey);
    const only = ls[0]?.literal ?? rs[0]!.literal;
    if (ls.every((l) => l.literal === only) && rs.every((r) => r.literal === only)) return joinId(only, ls, rs, out);
    // A hash collision: one join per id.
    const byId = new Map<string, { lefts: DatasetKey[]; rights: PointerKey[] }>();
    const group = (literal: string) => byId.get(literal) ?? byId.set(literal, { lefts: [], rights: [] }).get(literal)!;
    for (const l of ls) group(l.literal).lefts.push(l);
    for (const r of rs) group(r.literal).rights.push(r);
    for (const [literal, g] of byId) joinId(literal, g.lefts, g.rights, out);
  };
}

/** The usual group (one row `<line>\t<literal>`, one result `<src>\t<offset>\t<order>\t<literal>`, the same literal) joined in place; false for any other. */
function joinOne(lefts: EntryGroup, rights: EntryGroup, out: EntryBatch): boolean {
  if (lefts.count !== 1 || rights.count !== 1) return false;
  const lb = lefts.buf;
  const rb = rights.buf;
  const lineEnd = lb.indexOf(TAB, lefts.starts[0]!);
  const srcEnd = rb.indexOf(TAB, rights.starts[0]!);
  const offsetEnd = rb.indexOf(TAB, srcEnd + 1);
  const orderEnd = rb.indexOf(TAB, offsetEnd + 1);
  if (lb.compare(rb, orderEnd + 1, rights.ends[0]!, lineEnd + 1, lefts.ends[0]!) !== 0) return false;
  out.addBytes(readDecimal(rb, rights.starts[0]!, srcEnd) * 2 ** 40 + readDecimal(rb, srcEnd + 1, offsetEnd), lb, lefts.starts[0]!, lineEnd);
  return true;
}

const TAB = 9;
