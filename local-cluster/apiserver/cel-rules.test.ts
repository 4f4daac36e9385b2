import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRules, compileRule, ruleCompileErrors, toCel } from './cel-rules.js';
import { FieldErrors } from './field-errors.js';
import type { Schema } from './structural-schema.js';

const run = (v: unknown, s: Schema, old?: unknown) => {
  const e = new FieldErrors();
  checkRules(e, 'spec', v, old, s);
  return e.causes.map((c) => `${c.field}: ${c.message}`);
};
const rule = (r: string, more: Record<string, unknown> = {}): Schema => ({ type: 'object', 'x-kubernetes-validations': [{ rule: r, ...more }] });

test('a_false_rule_is_an_invalid_value_of_the_node_with_its_message', () => {
  assert.deepEqual(run({ a: 1 }, rule('has(self.a)', { message: 'a is required' })), []);
  assert.deepEqual(run({}, rule('has(self.a)', { message: 'a is required' })), ['spec: Invalid value: "object": a is required']);
  assert.deepEqual(run({}, rule('has(self.a)')), ['spec: Invalid value: "object": failed rule: has(self.a)']);
  assert.deepEqual(run({}, rule('has(self.a)', { message: 'm', fieldPath: '.a', reason: 'FieldValueRequired' })), ['spec.a: Required value: m']);
});

test('rules_run_at_nested_nodes_with_integers_as_int', () => {
  const s: Schema = { type: 'object', properties: { steps: { type: 'array', items: { type: 'integer' }, 'x-kubernetes-validations': [{ rule: 'self.isSorted() && self[0] + 1 > 1', message: 'steps must increase' }] } } };
  assert.deepEqual(run({ steps: [1, 5] }, s), []);
  assert.deepEqual(run({ steps: [5, 1] }, s), ['spec.steps: Invalid value: "array": steps must increase']);
  assert.equal(toCel(3, { type: 'integer' }), 3n);
  assert.equal(toCel(3, { type: 'number' }), 3);
});

test('transition_rules_see_old_self_on_update_only', () => {
  const s = rule('self.name == oldSelf.name', { message: 'name is immutable' });
  assert.deepEqual(run({ name: 'a' }, s), [], 'create: not run');
  assert.deepEqual(run({ name: 'a' }, s, { name: 'a' }), []);
  assert.deepEqual(run({ name: 'b' }, s, { name: 'a' }), ['spec: Invalid value: "object": name is immutable']);
});

test('a_rule_that_cannot_be_evaluated_refuses_the_write_naming_it', () => {
  const got = run({}, rule('self.missing == 1'));
  assert.equal(got.length, 1);
  assert.match(got[0]!, /^spec: Invalid value: "object": failed rule: self\.missing == 1: the rule could not be evaluated \(.*missing.*\), so the write is refused$/);
  assert.match(run({ a: 'x' }, rule('self.a'))[0]!, /returned string, not a boolean/);
});

test('rules_that_do_not_compile_are_named_by_path', () => {
  assert.equal(compileRule('self.a ==').ok, false);
  assert.equal(compileRule('nope.a == 1').ok, false);
  assert.equal(compileRule('self.a == 1').ok, true);
  const s: Schema = { type: 'object', properties: { spec: rule('self.a ==') } };
  assert.deepEqual(ruleCompileErrors(s, 'x').map((e) => e.field), ['x.properties[spec].x-kubernetes-validations[0].rule']);
});
