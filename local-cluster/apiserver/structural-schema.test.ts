import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FieldErrors } from './field-errors.js';
import { checkSchema, jsonTypeOf, type Schema } from './structural-schema.js';

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
  assert.deepEqual(check({ a: 1, z: 1 }, { ...s, preserveUnknownFields: true } as Schema), []);
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
