import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, podTemplateHash } from './template-hash.js';

const template = {
  metadata: { labels: { app: 'web', tier: 'front' } },
  spec: { containers: [{ name: 'app', image: 'app:1', env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80, protocol: 'TCP' }] }], serviceAccountName: 'web' },
};

/** The same value with every object's keys in reverse order (as a re-read from storage or a typed decoder may give). */
function reversed(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reversed);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)]));
  return v;
}

test('template_with_keys_in_another_order_hashes_the_same', () => {
  const shuffled = reversed(template);
  assert.notEqual(JSON.stringify(shuffled), JSON.stringify(template), 'the spelling really differs');
  assert.equal(podTemplateHash(shuffled), podTemplateHash(template));
});

test('absent_fields_spelled_undefined_or_null_hash_as_absent', () => {
  const withAbsent = { ...template, spec: { ...template.spec, nodeSelector: undefined, hostNetwork: null } };
  assert.equal(podTemplateHash(withAbsent), podTemplateHash(template));
});

test('a_real_change_changes_the_hash_and_array_order_matters', () => {
  const other = { ...template, spec: { ...template.spec, containers: [{ ...template.spec.containers[0], image: 'app:2' }] } };
  assert.notEqual(podTemplateHash(other), podTemplateHash(template));
  assert.notEqual(canonicalJson({ a: [1, 2] }), canonicalJson({ a: [2, 1] }));
  assert.match(podTemplateHash(template), /^[0-9a-f]{10}$/);
});

test('canonical_json_sorts_keys_at_every_depth', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [{ y: 1, x: 2 }], c: 'z' } }), '{"a":{"c":"z","d":[{"x":2,"y":1}]},"b":1}');
  assert.equal(canonicalJson(new Date('2026-01-01T00:00:00Z')), '"2026-01-01T00:00:00.000Z"');
});
