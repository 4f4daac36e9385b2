import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FieldErrors } from './field-errors.js';
import { checkSchema, jsonTypeOf, pruneUnknown, structuralErrors, type Schema } from './structural-schema.js';

const check = (v: unknown, s: Schema) => {
  const e = new FieldErrors();
  checkSchema(e, 'spec', v, s);
  return e.causes.map((c) => `${c.reason} ${c.field}: ${c.message}`);
};

test('json_types_are_named_as_kube_openapi_names_them', () => {
  assert.deepEqual([null, [], 1, 1.5, 's', true, {}].map(jsonTypeOf), ['null', 'array', 'integer', 'number', 'string', 'boolean', 'object']);
});

test('a_wrong_type_is_one_type_error_and_nothing_below_it_is_checked', () => {
  assert.deepEqual(check(42, { type: 'array', items: { type: 'string' } }), ['FieldValueTypeInvalid spec: Invalid value: "integer": spec in body must be of type array: "integer"']);
  assert.deepEqual(check(null, { type: 'string' }), ['FieldValueTypeInvalid spec: Invalid value: "null": spec in body must be of type string: "null"']);
});

test('objects_check_required_declared_and_map_values', () => {
  const s: Schema = { type: 'object', properties: { a: { type: 'integer', minimum: 1, maximum: 3 }, m: { type: 'object', additionalProperties: { type: 'boolean' } } }, required: ['a'] };
  assert.deepEqual(check({ a: 2, m: { x: true } }, s), []);
  assert.deepEqual(check({ m: { x: 1 } }, s), ['FieldValueRequired spec.a: Required value', 'FieldValueTypeInvalid spec.m.x: Invalid value: "integer": spec.m.x in body must be of type boolean: "integer"']);
  assert.deepEqual(check({ a: 9, z: 1 }, s), ['FieldValueInvalid spec.a: Invalid value: 9: spec.a in body should be less than or equal to 3', 'FieldValueForbidden spec.z: Forbidden: field not declared in schema']);
  assert.deepEqual(check({ a: 1, z: 1 }, { ...s, 'x-kubernetes-preserve-unknown-fields': true }), []);
});

test('arrays_check_every_item_and_their_length', () => {
  const s: Schema = { type: 'array', items: { type: 'string', enum: ['A', 'B'] }, maxItems: 2 };
  assert.deepEqual(check(['A', 'C', 'B'], s), ['FieldValueTooMany spec: Too many: 3: must have at most 2 items', 'FieldValueNotSupported spec[1]: Unsupported value: "C": supported values: "A", "B"']);
});

test('numbers_take_integers_and_fractions_within_their_bounds', () => {
  const s: Schema = { type: 'number', minimum: 0, maximum: 1 };
  assert.deepEqual(check(0.99, s), []);
  assert.deepEqual(check(1, s), []);
  assert.deepEqual(check(1.5, s), ['FieldValueInvalid spec: Invalid value: 1.5: spec in body should be less than or equal to 1']);
  assert.deepEqual(check('0.9', s), ['FieldValueTypeInvalid spec: Invalid value: "string": spec in body must be of type number: "string"']);
});

test('strings_check_pattern_length_and_date_time_format', () => {
  const s: Schema = { type: 'string', pattern: '^[0-9]+(ms|s)$', minLength: 2, maxLength: 5 };
  assert.deepEqual(check('30s', s), []);
  assert.deepEqual(check('3x', s), ["FieldValueInvalid spec: Invalid value: \"3x\": spec in body should match '^[0-9]+(ms|s)$'"]);
  assert.deepEqual(check('123456x', s).length, 2);
  assert.deepEqual(check('2026-01-02T03:04:05Z', { type: 'string', format: 'date-time' }), []);
  assert.deepEqual(check('yesterday', { type: 'string', format: 'date-time' }), ['FieldValueInvalid spec: Invalid value: "yesterday": spec in body must be of type date-time: "yesterday"']);
});

test('sets_and_maps_refuse_duplicates_and_lists_their_minimum', () => {
  assert.deepEqual(check([1, 2, 2], { type: 'array', items: { type: 'integer' }, 'x-kubernetes-list-type': 'set' }), ['FieldValueDuplicate spec[2]: Duplicate value: 2']);
  const conds: Schema = { type: 'array', items: { type: 'object', properties: { type: { type: 'string' } } }, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] };
  assert.deepEqual(check([{ type: 'A' }, { type: 'A' }], conds), ['FieldValueDuplicate spec[1]: Duplicate value: {"type":"A"}']);
  assert.deepEqual(check([], { type: 'array', items: { type: 'integer' }, minItems: 1 }), ['FieldValueInvalid spec: Invalid value: 0: spec in body should have at least 1 items']);
});

test('int_or_string_and_nullable_and_untyped_preserved_values', () => {
  const ios: Schema = { 'x-kubernetes-int-or-string': true };
  assert.deepEqual(check(8080, ios), []);
  assert.deepEqual(check('http', ios), []);
  assert.equal(check(true, ios).length, 1);
  assert.deepEqual(check(null, { type: 'string', nullable: true }), []);
  assert.deepEqual(check({ any: [1, { x: 2 }] }, { 'x-kubernetes-preserve-unknown-fields': true }), []);
});

test('pruning_drops_undeclared_fields_and_names_them_keeping_the_envelope', () => {
  const s: Schema = { type: 'object', properties: { spec: { type: 'object', properties: { a: { type: 'integer' }, m: { type: 'object', additionalProperties: { type: 'object', properties: { x: { type: 'string' } } } }, free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } } };
  const r = pruneUnknown({ apiVersion: 'g/v1', kind: 'K', metadata: { name: 'n' }, top: 1, spec: { a: 1, b: 2, m: { k: { x: 's', y: 1 } }, free: { q: 1 } } }, s);
  assert.deepEqual(r.unknown, ['top', 'spec.b', 'spec.m.k.y']);
  assert.deepEqual(r.value, { apiVersion: 'g/v1', kind: 'K', metadata: { name: 'n' }, spec: { a: 1, m: { k: { x: 's' } }, free: { q: 1 } } });
});

test('a_schema_that_is_not_structural_is_refused_naming_the_node', () => {
  const p = 'schema';
  assert.deepEqual(structuralErrors({ type: 'object', properties: { spec: { type: 'object' } } }, p), []);
  assert.deepEqual(structuralErrors({ type: 'object', properties: { spec: { properties: {} } } }, p).map((e) => e.field), ['schema.properties[spec].type', 'schema.properties[spec].type']);
  assert.deepEqual(structuralErrors({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } }, p).map((e) => e.field), ['schema.additionalProperties']);
  assert.deepEqual(structuralErrors({ type: 'object', properties: { a: { type: 'array' } } }, p).map((e) => e.field), ['schema.properties[a].items']);
  assert.deepEqual(structuralErrors({ type: 'object', properties: { a: { anyOf: [] , type: 'string' } } }, p).map((e) => e.field), ['schema.properties[a].anyOf', 'schema.properties[a].anyOf']);
  assert.deepEqual(structuralErrors({ type: 'string' }, p).map((e) => e.message), ['Invalid value: must be object at the root']);
  assert.deepEqual(structuralErrors({ type: 'object', properties: { a: { type: 'string', pattern: '(' } } }, p).map((e) => e.field), ['schema.properties[a].pattern']);
});
