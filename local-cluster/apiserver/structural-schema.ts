// Structural schemas, read as a CRD's openAPIV3Schema declares them (the OpenAPI v3 subset
// apiextensions.k8s.io/v1 allows, with its x-kubernetes-* extensions), and the three things
// kube-apiserver does with one:
//   - structuralErrors(): is the schema structural (every node typed or
//     preserving unknown fields, no `additionalProperties` next to `properties`, ...)? A
//     CRD whose schema is not is refused, with kube-apiserver's wording.
//   - pruneUnknown(): the object without the fields the schema does not declare, and their
//     paths (fieldValidation decides: Strict refuses them, Warn warns, Ignore drops them).
//   - checkSchema(): types, enums, formats, bounds, patterns, required properties, set and
//     map list uniqueness. Errors read as kube-apiserver's:
//       spec.rules[0].to: Invalid value: "integer": spec.rules[0].to in body must be of type array: "integer"
// Pure. CEL rules (x-kubernetes-validations) are cel-rules.ts's.
import type { FieldErrors } from './field-errors.js';

export type SchemaType = 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object';

/** One x-kubernetes-validations entry. */
export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  fieldPath?: string;
  optionalOldSelf?: boolean;
}

/** JSONSchemaProps, the part a structural schema may use. */
export interface Schema {
  type?: SchemaType;
  description?: string;
  format?: string;
  enum?: readonly unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minItems?: number;
  maxItems?: number;
  items?: Schema;
  properties?: Readonly<Record<string, Schema>>;
  /** A map: every value has this schema; `true` leaves values free. */
  additionalProperties?: Schema | boolean;
  required?: readonly string[];
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  default?: unknown;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: readonly string[];
  'x-kubernetes-map-type'?: 'granular' | 'atomic';
  'x-kubernetes-validations'?: readonly ValidationRule[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The JSON type name kube-openapi reports for a value. */
export function jsonTypeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v; // string, boolean, object
}

/** The schema of a map's values, if `s` is a map (additionalProperties given as a schema). */
const mapValues = (s: Schema): Schema | undefined => (isObj(s.additionalProperties) ? (s.additionalProperties as Schema) : undefined);

/** Does this node keep fields it does not declare? */
const preserves = (s: Schema): boolean => s['x-kubernetes-preserve-unknown-fields'] === true || s.additionalProperties === true;

// --- structural ---

const KNOWN_KEYS = new Set<string>([
  'type', 'description', 'format', 'enum', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum',
  'minItems', 'maxItems', 'items', 'properties', 'additionalProperties', 'required', 'minProperties', 'maxProperties', 'nullable', 'default',
  'title', 'example', 'multipleOf',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource', 'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-validations',
]);
const TYPES: readonly string[] = ['string', 'integer', 'number', 'boolean', 'array', 'object'];

/**
 * Why `schema` (at `path`, e.g. `spec.versions[0].schema.openAPIV3Schema`) is not a
 * structural schema this server can enforce; empty when it is. Messages as
 * kube-apiserver's CRD validation writes them.
 */
export function structuralErrors(schema: unknown, path: string): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  const walk = (s: unknown, p: string, root: boolean): void => {
    if (!isObj(s)) return void out.push({ field: p, message: 'Invalid value: must be an object (a schema)' });
    for (const key of Object.keys(s)) {
      if (!KNOWN_KEYS.has(key)) out.push({ field: `${p}.${key}`, message: `Forbidden: ${key} is not supported by this server` });
    }
    for (const key of ['allOf', 'anyOf', 'oneOf', 'not', '$ref', 'uniqueItems', 'patternProperties', 'dependencies', 'definitions']) {
      if (key in s) out.push({ field: `${p}.${key}`, message: `Forbidden: ${key} is forbidden in a structural schema` });
    }
    const type = s['type'];
    const intOrString = s['x-kubernetes-int-or-string'] === true;
    const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
    if (type !== undefined && !TYPES.includes(type as string)) out.push({ field: `${p}.type`, message: `Unsupported value: ${JSON.stringify(type)}: supported values: "${TYPES.join('", "')}"` });
    if (type === undefined && !intOrString && !preserve) out.push({ field: `${p}.type`, message: 'Required value: must not be empty for specified object fields' });
    if (intOrString && type !== undefined) out.push({ field: `${p}.type`, message: 'Forbidden: must be empty if x-kubernetes-int-or-string is true' });
    if (root && type !== 'object') out.push({ field: `${p}.type`, message: 'Invalid value: must be object at the root' });
    if (s['properties'] !== undefined && s['additionalProperties'] !== undefined && s['additionalProperties'] !== false) {
      out.push({ field: `${p}.additionalProperties`, message: 'Forbidden: additionalProperties and properties are mutual exclusive' });
    }
    if ((s['properties'] !== undefined || s['additionalProperties'] !== undefined) && type !== 'object') {
      out.push({ field: `${p}.type`, message: 'Invalid value: must be object if properties or additionalProperties are set' });
    }
    if (type === 'array' && s['items'] === undefined) out.push({ field: `${p}.items`, message: 'Required value: must be specified' });
    if (s['items'] !== undefined && type !== 'array') out.push({ field: `${p}.type`, message: 'Invalid value: must be array if items is set' });
    if (s['pattern'] !== undefined) {
      try {
        new RegExp(String(s['pattern']), 'u');
      } catch (err) {
        out.push({ field: `${p}.pattern`, message: `Invalid value: ${JSON.stringify(s['pattern'])}: ${(err as Error).message}` });
      }
    }
    const listType = s['x-kubernetes-list-type'];
    if (listType !== undefined && !['atomic', 'set', 'map'].includes(listType as string)) {
      out.push({ field: `${p}.x-kubernetes-list-type`, message: `Unsupported value: ${JSON.stringify(listType)}: supported values: "atomic", "set", "map"` });
    }
    if (listType === 'map' && !(Array.isArray(s['x-kubernetes-list-map-keys']) && s['x-kubernetes-list-map-keys'].length > 0)) {
      out.push({ field: `${p}.x-kubernetes-list-map-keys`, message: 'Required value: must not be empty if x-kubernetes-list-type is map' });
    }
    const rules = s['x-kubernetes-validations'];
    if (rules !== undefined && !(Array.isArray(rules) && rules.every((r) => isObj(r) && typeof r['rule'] === 'string' && r['rule'] !== ''))) {
      out.push({ field: `${p}.x-kubernetes-validations`, message: 'Invalid value: must be a list of {rule, message?, reason?, fieldPath?}' });
    }
    if (isObj(s['properties'])) for (const [k, v] of Object.entries(s['properties'])) walk(v, `${p}.properties[${k}]`, false);
    else if (s['properties'] !== undefined) out.push({ field: `${p}.properties`, message: 'Invalid value: must be an object' });
    if (isObj(s['additionalProperties'])) walk(s['additionalProperties'], `${p}.additionalProperties`, false);
    if (s['items'] !== undefined) walk(s['items'], `${p}.items`, false);
  };
  walk(schema, path, true);
  return out;
}

// --- pruning ---

/** The envelope every object has besides its schema (the server owns metadata). */
const ENVELOPE = new Set(['apiVersion', 'kind', 'metadata']);

/**
 * `value` without the fields `schema` does not declare (a copy), and their paths, as
 * kube-apiserver prunes a custom resource. At the root, apiVersion, kind and metadata stay.
 */
export function pruneUnknown(value: unknown, schema: Schema, root = true): { value: unknown; unknown: string[] } {
  const unknown: string[] = [];
  const walk = (v: unknown, s: Schema, p: string, top: boolean): unknown => {
    if (Array.isArray(v)) return s.items ? v.map((x, i) => walk(x, s.items!, `${p}[${i}]`, false)) : v;
    if (!isObj(v)) return v;
    if (s['x-kubernetes-embedded-resource'] === true || (preserves(s) && !s.properties && !mapValues(s))) return v;
    const out: Obj = {};
    for (const [key, x] of Object.entries(v)) {
      const child = p === '' ? key : `${p}.${key}`;
      const declared = s.properties?.[key];
      const values = mapValues(s);
      if (declared) out[key] = walk(x, declared, child, false);
      else if (values) out[key] = walk(x, values, child, false);
      else if ((top && ENVELOPE.has(key)) || preserves(s)) out[key] = x;
      else unknown.push(child);
    }
    return out;
  };
  return { value: walk(value, schema, '', root), unknown };
}

// --- checking ---

const patterns = new Map<string, RegExp>();
function patternOf(p: string): RegExp {
  let re = patterns.get(p);
  if (!re) {
    re = new RegExp(p, 'u');
    if (patterns.size > 1000) patterns.clear();
    patterns.set(p, re);
  }
  return re;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Formats checked (the cheap ones kube-openapi checks); other formats are accepted as plain strings. */
const FORMATS: Record<string, (s: string) => boolean> = {
  'date-time': (s) => DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)),
  date: (s) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s)),
};

const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

/** A child's path: `spec.rules`, or `spec` under the root (path ''). */
export const childPath = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

/** The key of a list-map item: its map-key fields, as kube-apiserver shows a duplicate. */
function mapKeyOf(item: unknown, keys: readonly string[]): string {
  const o = isObj(item) ? item : {};
  return JSON.stringify(Object.fromEntries(keys.map((k) => [k, o[k] ?? null])));
}

/** Checks `value` at `path` against `schema`, recording every violation in `e`. Undeclared fields are errors (prune first where they are not). */
export function checkSchema(e: FieldErrors, path: string, value: unknown, schema: Schema): void {
  if (value === null && schema.nullable) return;
  const got = jsonTypeOf(value);
  if (schema['x-kubernetes-int-or-string']) {
    if (got !== 'integer' && got !== 'string') e.typeInvalid(path, got, 'integer-or-string');
    else if (got === 'string') checkString(e, path, value as string, schema);
    return;
  }
  if (schema.type === undefined) return; // x-kubernetes-preserve-unknown-fields: anything
  if (got !== schema.type && !(schema.type === 'number' && (got === 'integer' || got === 'number'))) {
    e.typeInvalid(path, got, schema.type);
    return;
  }
  if (schema.enum && !schema.enum.some((x) => JSON.stringify(x) === JSON.stringify(value))) {
    e.notSupported(path, value, schema.enum.map((x) => (typeof x === 'string' ? x : show(x))));
  }
  switch (schema.type) {
    case 'string':
      return checkString(e, path, value as string, schema);
    case 'number':
    case 'integer': {
      const n = value as number;
      if (schema.minimum !== undefined && (schema.exclusiveMinimum ? n <= schema.minimum : n < schema.minimum)) {
        e.invalid(path, n, `${path} in body should be greater than ${schema.exclusiveMinimum ? '' : 'or equal to '}${schema.minimum}`);
      }
      if (schema.maximum !== undefined && (schema.exclusiveMaximum ? n >= schema.maximum : n > schema.maximum)) {
        e.invalid(path, n, `${path} in body should be less than ${schema.exclusiveMaximum ? '' : 'or equal to '}${schema.maximum}`);
      }
      return;
    }
    case 'boolean':
      return;
    case 'array': {
      const a = value as unknown[];
      if (schema.maxItems !== undefined && a.length > schema.maxItems) e.tooMany(path, a.length, schema.maxItems);
      if (schema.minItems !== undefined && a.length < schema.minItems) e.invalid(path, a.length, `${path} in body should have at least ${schema.minItems} items`);
      if (schema.items) a.forEach((item, i) => checkSchema(e, `${path}[${i}]`, item, schema.items!));
      const listType = schema['x-kubernetes-list-type'];
      if (listType === 'set' || listType === 'map') {
        const seen = new Set<string>();
        a.forEach((item, i) => {
          const key = listType === 'set' ? JSON.stringify(item) : mapKeyOf(item, schema['x-kubernetes-list-map-keys'] ?? []);
          if (seen.has(key)) e.duplicate(`${path}[${i}]`, listType === 'set' ? item : JSON.parse(key));
          seen.add(key);
        });
      }
      return;
    }
    case 'object': {
      const o = value as Obj;
      const keys = Object.keys(o);
      if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) e.tooMany(path, keys.length, schema.maxProperties);
      if (schema.minProperties !== undefined && keys.length < schema.minProperties) e.invalid(path, keys.length, `${path} in body should have at least ${schema.minProperties} properties`);
      for (const r of schema.required ?? []) if (o[r] === undefined) e.required(childPath(path, r));
      const values = mapValues(schema);
      for (const key of keys) {
        const declared = schema.properties?.[key];
        const child = childPath(path, key);
        if (declared) checkSchema(e, child, o[key], declared);
        else if (values) checkSchema(e, child, o[key], values);
        else if (!preserves(schema)) e.unknownField(child);
      }
      return;
    }
  }
}

function checkString(e: FieldErrors, path: string, s: string, schema: Schema): void {
  if (schema.maxLength !== undefined && s.length > schema.maxLength) e.tooLong(path, schema.maxLength);
  if (schema.minLength !== undefined && s.length < schema.minLength) e.invalid(path, s, `${path} in body should be at least ${schema.minLength} chars long`);
  if (schema.pattern !== undefined && !patternOf(schema.pattern).test(s)) e.invalid(path, s, `${path} in body should match '${schema.pattern}'`);
  const format = schema.format !== undefined ? FORMATS[schema.format] : undefined;
  if (format && !format(s)) e.invalid(path, s, `${path} in body must be of type ${schema.format}: ${show(s)}`);
}
