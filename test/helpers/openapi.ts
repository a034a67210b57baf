import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/**
 * Validators for OpenAPI component schemas, from test/spec/openapi-schemas.json (extracted from
 * the official spec by scripts/extract-openapi-schemas.mjs). The current spec is OpenAPI 3.1
 * (JSON Schema 2020-12); the 2025-04-29 one, which holds the batch line schemas, is OpenAPI 3.0.
 */
const spec = JSON.parse(readFileSync(new URL('../spec/openapi-schemas.json', import.meta.url), 'utf8'));

type Which = 'current' | 'lines';
const cache = new Map<string, ValidateFunction>();
const ajvs: Partial<Record<Which, Ajv>> = {};

function ajvFor(which: Which): Ajv {
  let ajv = ajvs[which];
  if (!ajv) {
    // strict: false — the spec carries OpenAPI keywords (x-oaiMeta, discriminator, example) that JSON Schema does not define.
    ajv = which === 'current' ? (new Ajv2020({ strict: false, allErrors: true }) as unknown as Ajv) : new Ajv({ strict: false, allErrors: true });
    (addFormats as unknown as (a: Ajv) => void)(ajv);
    // Both files still use OpenAPI 3.0's `nullable` in places.
    const schemas = fromOpenApi30(spec[which].schemas) as Record<string, { properties?: Record<string, unknown>; required?: string[] }>;
    for (const name of NULL_WHEN_UNSET) if (schemas[name]) schemas[name] = optionalsNullable(schemas[name]);
    ajv.addSchema({ $id: 'spec', components: { schemas } });
    ajvs[which] = ajv;
  }
  return ajv;
}

export function schemaValidator(which: Which, name: string): ValidateFunction {
  const key = `${which}:${name}`;
  let v = cache.get(key);
  if (!v) {
    v = ajvFor(which).compile({ $ref: `spec#/components/schemas/${name}` });
    cache.set(key, v);
  }
  return v;
}

/** Returns the validation errors as readable lines, or [] when `value` is valid. */
export function schemaErrors(which: Which, name: string, value: unknown): string[] {
  const v = schemaValidator(which, name);
  return v(value) ? [] : (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
}

/**
 * Objects whose optional properties are null until set: the spec's own example of a Batch shows
 * `"errors": null`, `"output_file_id": null`, `"failed_at": null`..., and the API answers so, but
 * its types do not say nullable. Required properties stay non-null.
 */
const NULL_WHEN_UNSET = ['Batch'];

function optionalsNullable<T extends { properties?: Record<string, unknown>; required?: string[] }>(schema: T): T {
  const required = new Set(schema.required ?? []);
  const properties = Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, v]) => [k, required.has(k) ? v : { anyOf: [v, { type: 'null' }] }]));
  return { ...schema, properties };
}

/** OpenAPI 3.0's `nullable: true` as JSON Schema: Ajv accepts the keyword only beside `type`. */
function fromOpenApi30(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(fromOpenApi30);
  if (typeof node !== 'object' || node === null) return node;
  const { nullable, ...rest } = node as Record<string, unknown>;
  const converted = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, fromOpenApi30(v)]));
  if (nullable !== true) return converted;
  if (typeof converted.type === 'string') return { ...converted, type: [converted.type, 'null'] };
  return { anyOf: [converted, { type: 'null' }] };
}
