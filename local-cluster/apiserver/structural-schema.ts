// A structural schema, as a CRD's openAPIV3Schema declares one, and the check
// kube-apiserver makes against it at admission: JSON types, enums, bounds, required
// properties, and (schemas being closed unless they say otherwise) fields the schema
// does not declare, which kubectl's default strict field validation refuses. Pure; the
// errors read as kube-apiserver's:
//   spec.rules[0].to: Invalid value: "integer": spec.rules[0].to in body must be of type array: "integer"
import type { FieldErrors } from './field-errors.js';

export type Schema =
  | { type: 'string'; enum?: readonly string[]; maxLength?: number; minLength?: number }
  | { type: 'integer'; minimum?: number; maximum?: number }
  /** Any JSON number, integers included (as OpenAPI's `number`). */
  | { type: 'number'; minimum?: number; maximum?: number }
  | { type: 'boolean' }
  | { type: 'array'; items: Schema; maxItems?: number }
  | {
      type: 'object';
      /** Declared properties; with no `additionalProperties`, any other is refused. */
      properties?: Readonly<Record<string, Schema>>;
      /** A map: every value has this schema (keys are free). */
      additionalProperties?: Schema;
      required?: readonly string[];
      /** x-kubernetes-preserve-unknown-fields: undeclared properties are kept, unchecked. */
      preserveUnknownFields?: boolean;
      maxProperties?: number;
    };

/** The JSON type name kube-openapi reports for a value. */
export function jsonTypeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v; // string, boolean, object
}

/** Checks `value` at `path` against `schema`, recording every violation in `e`. */
export function checkSchema(e: FieldErrors, path: string, value: unknown, schema: Schema): void {
  const got = jsonTypeOf(value);
  if (got !== schema.type && !(schema.type === 'number' && got === 'integer')) {
    e.typeInvalid(path, got, schema.type);
    return;
  }
  switch (schema.type) {
    case 'string': {
      const s = value as string;
      if (schema.enum && !schema.enum.includes(s)) e.notSupported(path, s, schema.enum);
      if (schema.maxLength !== undefined && s.length > schema.maxLength) e.tooLong(path, schema.maxLength);
      if (schema.minLength !== undefined && s.length < schema.minLength) e.invalid(path, s, `${path} in body should be at least ${schema.minLength} chars long`);
      return;
    }
    case 'integer':
    case 'number': {
      const n = value as number;
      if (schema.minimum !== undefined && n < schema.minimum) e.invalid(path, n, `${path} in body should be greater than or equal to ${schema.minimum}`);
      if (schema.maximum !== undefined && n > schema.maximum) e.invalid(path, n, `${path} in body should be less than or equal to ${schema.maximum}`);
      return;
    }
    case 'boolean':
      return;
    case 'array': {
      const a = value as unknown[];
      if (schema.maxItems !== undefined && a.length > schema.maxItems) e.tooMany(path, a.length, schema.maxItems);
      a.forEach((item, i) => checkSchema(e, `${path}[${i}]`, item, schema.items));
      return;
    }
    case 'object': {
      const o = value as Record<string, unknown>;
      const keys = Object.keys(o);
      if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) e.tooMany(path, keys.length, schema.maxProperties);
      for (const r of schema.required ?? []) if (o[r] === undefined) e.required(`${path}.${r}`);
      for (const key of keys) {
        const declared = schema.properties?.[key];
        const child = `${path}.${key}`;
        if (declared) checkSchema(e, child, o[key], declared);
        else if (schema.additionalProperties) checkSchema(e, child, o[key], schema.additionalProperties);
        else if (!schema.preserveUnknownFields) e.unknownField(`${path}.${key}`);
      }
      return;
    }
  }
}
