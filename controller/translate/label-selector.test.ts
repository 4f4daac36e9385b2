// LabelSelector reading (strict: a selector that grants something must not widen on a
// mistake) and matching (Kubernetes' semantics).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatLabelSelector, labelKeyProblem, labelValueProblem, readLabelSelector, selectorMatches, type LabelSelector } from './label-selector.js';

function must(v: unknown): LabelSelector {
  const r = readLabelSelector(v, 's');
  if (!r.ok) assert.fail(r.why);
  return r.selector;
}
const why = (v: unknown): string => {
  const r = readLabelSelector(v, 's');
  assert.equal(r.ok, false, 'expected a refusal');
  return (r as { why: string }).why;
};

test('selector_empty_matches_everything', () => {
  assert.equal(selectorMatches(must({}), {}), true);
  assert.equal(selectorMatches(must({ matchLabels: null, matchExpressions: null }), { a: 'b' }), true);
});

test('selector_match_labels_need_key_and_equal_value', () => {
  const s = must({ matchLabels: { team: 'web' } });
  assert.equal(selectorMatches(s, { team: 'web', x: 'y' }), true);
  assert.equal(selectorMatches(s, { team: 'db' }), false);
  assert.equal(selectorMatches(s, {}), false);
});

test('selector_match_label_with_empty_value_needs_the_key_present_and_empty', () => {
  const s = must({ matchLabels: { mesh: '' } });
  assert.equal(selectorMatches(s, { mesh: '' }), true);
  assert.equal(selectorMatches(s, {}), false);
});

test('selector_in_needs_one_of_the_values', () => {
  const s = must({ matchExpressions: [{ key: 'env', operator: 'In', values: ['a', 'b'] }] });
  assert.equal(selectorMatches(s, { env: 'b' }), true);
  assert.equal(selectorMatches(s, { env: 'c' }), false);
  assert.equal(selectorMatches(s, {}), false);
});

test('selector_notin_holds_when_the_key_is_absent', () => {
  const s = must({ matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['a'] }] });
  assert.equal(selectorMatches(s, {}), true);
  assert.equal(selectorMatches(s, { env: 'b' }), true);
  assert.equal(selectorMatches(s, { env: 'a' }), false);
});

test('selector_exists_and_does_not_exist_look_at_the_key_only', () => {
  assert.equal(selectorMatches(must({ matchExpressions: [{ key: 'k', operator: 'Exists' }] }), { k: '' }), true);
  assert.equal(selectorMatches(must({ matchExpressions: [{ key: 'k', operator: 'Exists', values: [] }] }), {}), false);
  assert.equal(selectorMatches(must({ matchExpressions: [{ key: 'k', operator: 'DoesNotExist' }] }), {}), true);
  assert.equal(selectorMatches(must({ matchExpressions: [{ key: 'k', operator: 'DoesNotExist' }] }), { k: 'v' }), false);
});

test('selector_key_inherited_from_object_prototype_is_not_a_label', () => {
  assert.equal(selectorMatches(must({ matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }), {}), false);
});

test('selector_every_requirement_must_hold', () => {
  const s = must({ matchLabels: { a: '1' }, matchExpressions: [{ key: 'b', operator: 'Exists' }] });
  assert.equal(selectorMatches(s, { a: '1' }), false);
  assert.equal(selectorMatches(s, { a: '1', b: '' }), true);
});

test('selector_refuses_unknown_operator', () => {
  assert.match(why({ matchExpressions: [{ key: 'a', operator: 'Like', values: ['x'] }] }), /s\.matchExpressions\[0\]\.operator "Like" is not one of In, NotIn, Exists, DoesNotExist/);
});

test('selector_refuses_lower_case_operator', () => {
  assert.match(why({ matchExpressions: [{ key: 'a', operator: 'in', values: ['x'] }] }), /operator "in"/);
});

test('selector_refuses_in_and_notin_without_values', () => {
  assert.match(why({ matchExpressions: [{ key: 'a', operator: 'In' }] }), /operator In needs at least one value/);
  assert.match(why({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: [] }] }), /operator NotIn needs at least one value/);
});

test('selector_refuses_exists_with_values', () => {
  assert.match(why({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }), /operator Exists takes no values/);
});

test('selector_refuses_unknown_fields', () => {
  assert.match(why({ matchLabel: { a: 'b' } }), /s\.matchLabel is not a field of a label selector/);
  assert.match(why({ matchExpressions: [{ key: 'a', operator: 'Exists', value: 'x' }] }), /s\.matchExpressions\[0\]\.value is not a field/);
});

test('selector_refuses_wrong_types', () => {
  assert.match(why('team=web'), /s "team=web" is not a label selector/);
  assert.match(why({ matchLabels: ['a'] }), /s\.matchLabels \["a"\] is not a map of strings/);
  assert.match(why({ matchLabels: { a: 1 } }), /s\.matchLabels\["a"\] 1 is not a string/);
  assert.match(why({ matchExpressions: {} }), /s\.matchExpressions \{\} is not a list/);
  assert.match(why({ matchExpressions: [{ key: 1, operator: 'Exists' }] }), /\.key 1 is not a string/);
  assert.match(why({ matchExpressions: [{ key: 'a', operator: 'In', values: [1] }] }), /\.values\[0\] 1 is not a string/);
});

test('selector_refuses_bad_keys_and_values', () => {
  assert.match(why({ matchLabels: { 'a b': 'c' } }), /"a b" is not a label key/);
  assert.match(why({ matchLabels: { 'Example.com/x': 'c' } }), /prefix is not a lower-case DNS subdomain/);
  assert.match(why({ matchLabels: { a: 'x'.repeat(64) } }), /is not a label value/);
  assert.match(why({ matchExpressions: [{ key: '', operator: 'Exists' }] }), /\.key "" is not a label key/);
});

test('label_key_and_value_rules', () => {
  assert.equal(labelKeyProblem('kubernetes.io/metadata.name'), undefined);
  assert.equal(labelKeyProblem('team'), undefined);
  assert.notEqual(labelKeyProblem('/x'), undefined);
  assert.notEqual(labelKeyProblem('-x'), undefined);
  assert.equal(labelValueProblem(''), undefined);
  assert.equal(labelValueProblem('a.b-c_d'), undefined);
  assert.notEqual(labelValueProblem('a/b'), undefined);
});

test('selector_formats_as_kubernetes_does', () => {
  assert.equal(formatLabelSelector(must({})), '<everything>');
  assert.equal(
    formatLabelSelector(must({ matchLabels: { team: 'web' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['b', 'a'] }, { key: 'x', operator: 'DoesNotExist' }, { key: 'y', operator: 'Exists' }, { key: 'z', operator: 'NotIn', values: ['q'] }] })),
    'env in (a,b),team=web,!x,y,z!=q',
  );
});
