// Unit tests of label and field selector parsing and matching (Kubernetes' grammar).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  SelectorError,
  formatLabelSelector,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  requirementsFromLabelSelector,
} from './selectors.js';

const sel = (s: string, labels: Record<string, string>) => matchesLabels(parseLabelSelector(s), labels);

test('label_selector_empty_matches_everything', () => {
  assert.deepEqual(parseLabelSelector(''), []);
  assert.ok(sel('', {}));
  assert.ok(sel('  ', { a: 'b' }));
});

test('label_selector_equality_operators', () => {
  assert.ok(sel('app=web', { app: 'web' }));
  assert.ok(sel('app==web', { app: 'web' }));
  assert.ok(!sel('app=web', { app: 'db' }));
  assert.ok(!sel('app=web', {}));
  assert.ok(sel('app!=web', { app: 'db' }));
  assert.ok(sel('app!=web', {}), '!= matches objects without the label');
  assert.ok(!sel('app!=web', { app: 'web' }));
});

test('label_selector_set_operators', () => {
  assert.ok(sel('tier in (a, b)', { tier: 'b' }));
  assert.ok(!sel('tier in (a,b)', { tier: 'c' }));
  assert.ok(!sel('tier in (a,b)', {}));
  assert.ok(sel('tier notin (a)', { tier: 'b' }));
  assert.ok(sel('tier notin (a)', {}));
  assert.ok(!sel('tier notin (a)', { tier: 'a' }));
});

test('label_selector_exists_and_does_not_exist', () => {
  assert.ok(sel('ambient.dev/waypoint-for', { 'ambient.dev/waypoint-for': '' }));
  assert.ok(!sel('ambient.dev/waypoint-for', {}));
  assert.ok(sel('!ambient.dev/waypoint-for', {}));
  assert.ok(!sel('!ambient.dev/waypoint-for', { 'ambient.dev/waypoint-for': 'all' }));
});

test('label_selector_requirements_are_anded', () => {
  const s = 'a=b,c!=d,e in (x,y),f notin (z),g,!h';
  assert.ok(sel(s, { a: 'b', c: 'q', e: 'y', f: 'w', g: '1' }));
  assert.ok(!sel(s, { a: 'b', c: 'q', e: 'y', f: 'w', g: '1', h: '' }));
  assert.ok(!sel(s, { a: 'b', c: 'q', e: 'y', f: 'w' }));
  assert.equal(parseLabelSelector(s).length, 6);
});

test('label_selector_gt_lt_compare_integers', () => {
  assert.ok(sel('n>3', { n: '4' }));
  assert.ok(!sel('n>3', { n: '3' }));
  assert.ok(sel('n<3', { n: '-1' }));
  assert.ok(!sel('n<3', { n: 'x' }));
});

test('label_selector_empty_value_after_equals', () => {
  assert.ok(sel('a=', { a: '' }));
  assert.ok(!sel('a=', { a: 'x' }));
});

test('label_selector_rejects_malformed_input', () => {
  for (const bad of ['a=b,', 'in (x)', 'a in x', 'a in ()', 'a b', 'Bad Key=1', '-a=b', 'a=-b-', 'a in (x', '!', 'a=b=c']) {
    assert.throws(() => parseLabelSelector(bad), SelectorError, bad);
  }
});

test('field_selector_matches_equality_and_inequality', () => {
  const allowed = ['metadata.name', 'spec.nodeName', 'status.phase'];
  const f = parseFieldSelector('spec.nodeName=node-1,status.phase!=Failed', allowed);
  assert.ok(matchesFields(f, { 'spec.nodeName': 'node-1', 'status.phase': 'Running' }));
  assert.ok(!matchesFields(f, { 'spec.nodeName': 'node-1', 'status.phase': 'Failed' }));
  assert.ok(!matchesFields(f, { 'spec.nodeName': 'node-2', 'status.phase': 'Running' }));
  assert.ok(matchesFields(parseFieldSelector('metadata.name==x', allowed), { 'metadata.name': 'x' }));
  assert.ok(matchesFields(parseFieldSelector('spec.nodeName=', allowed), { 'spec.nodeName': '' }), 'unscheduled pods');
});

test('field_selector_unknown_field_is_refused', () => {
  assert.throws(() => parseFieldSelector('spec.foo=bar', ['metadata.name']), /field label not supported: spec.foo/);
});

test('field_selector_value_escapes', () => {
  const f = parseFieldSelector('metadata.name=a\\,b\\=c', ['metadata.name']);
  assert.equal(f[0]!.value, 'a,b=c');
  assert.throws(() => parseFieldSelector('metadata.name=a=b', ['metadata.name']), SelectorError);
});

test('label_selector_object_form_converts_and_formats', () => {
  const reqs = requirementsFromLabelSelector({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'x', operator: 'DoesNotExist' }] });
  assert.ok(matchesLabels(reqs, { app: 'web', tier: 'a' }));
  assert.ok(!matchesLabels(reqs, { app: 'web', tier: 'a', x: '1' }));
  assert.equal(formatLabelSelector(reqs), 'app=web,tier in (a,b),!x');
  assert.deepEqual(parseLabelSelector(formatLabelSelector(reqs)), reqs);
});
