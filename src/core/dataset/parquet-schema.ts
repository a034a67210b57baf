/**
 * The schema of a merged Parquet output: the input Parquet file's own (values turned back into
 * what its types store), or one guessed from the rows of a JSON, CSV or TSV dataset; either with
 * the explanation as one more column. Pure, no I/O.
 */
import type { SchemaElement } from 'hyparquet';

/** The explanation's column: optional UTF-8 text (null for a row without one). */
export function explanationElement(field: string): SchemaElement {
  return { name: field, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' };
}

/**
 * A dataset record as the row written: an object as it is, anything else as `{value}`; a record
 * of a JSON object keyed by id gets its key as `id` when it has none (as the JSONL output does).
 */
export function keyedRow(value: unknown, key?: string): Record<string, unknown> {
  const row = typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array) ? (value as Record<string, unknown>) : { value };
  return key !== undefined && !Object.hasOwn(row, 'id') ? { id: key, ...row } : row;
}

/** A schema element and its children, as a tree (hyparquet's `SchemaTree`, without its bookkeeping). */
export interface SchemaNode {
  element: SchemaElement;
  children: SchemaNode[];
}

/** The flat, depth-first schema list as a tree; the root is the first element. */
export function schemaTree(schema: readonly SchemaElement[]): SchemaNode {
  let at = 0;
  const walk = (): SchemaNode => {
    const element = schema[at++];
    if (!element) throw new Error('the Parquet schema ends before all its columns are listed');
    const children: SchemaNode[] = [];
    for (let i = 0; i < (element.num_children ?? 0); i++) children.push(walk());
    return { element, children };
  };
  return walk();
}

function flatten(node: SchemaNode, out: SchemaElement[]): SchemaElement[] {
  out.push(node.element);
  for (const child of node.children) flatten(child, out);
  return out;
}

/**
 * The input file's schema with the explanation column last (a column of that name already there,
 * from an earlier merge, is replaced; `field` null: none added). INT96 timestamps, which the writer cannot write, become
 * INT64 milliseconds (the reader gives them as dates to the millisecond anyway).
 */
export function schemaWithExplanation(schema: readonly SchemaElement[], field: string | null): SchemaElement[] {
  const root = schemaTree(schema);
  const columns = root.children.filter((c) => c.element.name !== field).map(withoutInt96);
  if (field !== null) columns.push({ element: explanationElement(field), children: [] });
  return flatten({ element: { ...root.element, num_children: columns.length }, children: columns }, []);
}

function withoutInt96(node: SchemaNode): SchemaNode {
  if (node.element.type === 'INT96') return { element: { ...node.element, type: 'INT64', converted_type: 'TIMESTAMP_MILLIS' }, children: [] };
  return { element: node.element, children: node.children.map(withoutInt96) };
}

/** The top-level column names of a schema, in order. */
export function columnNames(schema: readonly SchemaElement[]): string[] {
  return schemaTree(schema).children.map((c) => c.element.name);
}

const isList = (n: SchemaNode) => (n.element.converted_type === 'LIST' || n.element.logical_type?.type === 'LIST') && n.children.length === 1 && n.children[0]!.element.repetition_type === 'REPEATED';
const isMap = (n: SchemaNode) =>
  (n.element.converted_type === 'MAP' || n.element.converted_type === 'MAP_KEY_VALUE' || n.element.logical_type?.type === 'MAP') && n.children.length === 1 && n.children[0]!.children.length === 2;
const isDate = (e: SchemaElement) =>
  e.converted_type === 'DATE' || e.converted_type === 'TIMESTAMP_MILLIS' || e.converted_type === 'TIMESTAMP_MICROS' || e.logical_type?.type === 'TIMESTAMP' || e.logical_type?.type === 'DATE' || e.type === 'INT96';

/**
 * A value as the reader made it plain (core/dataset/parquet-rows.ts: 64-bit integers as numbers or
 * text, dates as ISO text) → what the writer takes for its column: bigints, dates; structs, lists
 * and maps walked. `node` is the value's column (or part of one).
 */
export function restoreValue(node: SchemaNode, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  const e = node.element;
  if (node.children.length === 0) {
    if (isDate(e) && (typeof value === 'string' || typeof value === 'number')) return new Date(value);
    if (e.type === 'INT64' && (typeof value === 'number' || typeof value === 'string')) return BigInt.asIntN(64, BigInt(value));
    return value;
  }
  if (isList(node) && Array.isArray(value)) {
    const repeated = node.children[0]!;
    // The three-level list (`list` → `element`) or the legacy two-level one (the repeated field is the element).
    const item = repeated.children.length === 1 ? repeated.children[0]! : repeated;
    return value.map((v) => restoreValue(item, v));
  }
  if (isMap(node) && typeof value === 'object' && !Array.isArray(value)) {
    const [key, val] = node.children[0]!.children as [SchemaNode, SchemaNode];
    return Object.entries(value).map(([k, v]) => ({ [key.element.name]: restoreValue(key, k), [val.element.name]: restoreValue(val, v) }));
  }
  if (typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array)) {
    const row = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const child of node.children) out[child.element.name] = restoreValue(child, row[child.element.name]);
    return out;
  }
  return value;
}

type Kind = 'boolean' | 'int32' | 'int64' | 'double' | 'string' | 'bytes' | 'json';

/**
 * Guesses a Parquet schema from rows (a JSON, CSV or TSV dataset), one row at a time: the columns
 * in the order first seen, each optional; booleans, integers (INT32, or INT64 beyond it), doubles,
 * text and bytes as such; objects, arrays, and columns of mixed kinds as JSON text (read back as
 * the values they were). Holds one entry per column.
 */
export class SchemaGuess {
  readonly #kinds = new Map<string, Set<Kind>>();

  observe(row: Record<string, unknown>): void {
    for (const [name, value] of Object.entries(row)) {
      let kinds = this.#kinds.get(name);
      if (!kinds) this.#kinds.set(name, (kinds = new Set()));
      const kind = kindOf(value);
      if (kind) kinds.add(kind);
    }
  }

  /** The schema guessed, with the explanation column (a column of that name from the data gives way to it). */
  schema(field: string | null): SchemaElement[] {
    const columns = [...this.#kinds].filter(([name]) => name !== field).map(([name, kinds]) => elementFor(name, kinds));
    if (field !== null) columns.push(explanationElement(field));
    return [{ name: 'schema', num_children: columns.length }, ...columns];
  }

  /** A row's values as its columns store them (JSON columns keep the value: the writer turns it into text). */
  static restore(schema: readonly SchemaElement[], row: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const e of schema.slice(1)) {
      const v = row[e.name];
      out[e.name] = v === undefined ? null : e.type === 'INT64' && typeof v === 'number' ? BigInt(v) : v;
    }
    return out;
  }
}

function kindOf(value: unknown): Kind | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return 'double';
    return value >= -(2 ** 31) && value < 2 ** 31 ? 'int32' : Number.isSafeInteger(value) ? 'int64' : 'double';
  }
  if (typeof value === 'string') return 'string';
  if (value instanceof Uint8Array) return 'bytes';
  return 'json';
}

function elementFor(name: string, kinds: Set<Kind>): SchemaElement {
  const only = (...allowed: Kind[]) => kinds.size > 0 && [...kinds].every((k) => allowed.includes(k));
  const optional = { name, repetition_type: 'OPTIONAL' } as const;
  if (kinds.size === 0) return { ...optional, type: 'BYTE_ARRAY', converted_type: 'UTF8' };
  if (only('boolean')) return { ...optional, type: 'BOOLEAN' };
  if (only('int32')) return { ...optional, type: 'INT32' };
  if (only('int32', 'int64')) return { ...optional, type: 'INT64' };
  if (only('int32', 'int64', 'double')) return { ...optional, type: 'DOUBLE' };
  if (only('string')) return { ...optional, type: 'BYTE_ARRAY', converted_type: 'UTF8' };
  if (only('bytes')) return { ...optional, type: 'BYTE_ARRAY' };
  return { ...optional, type: 'BYTE_ARRAY', converted_type: 'JSON' };
}
