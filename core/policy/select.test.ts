// Policy selection (https://istio.io/latest/docs/reference/config/security/authorization-policy/,
// "workload selector" and root namespace).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Policy } from '../config/model.js';
import { policiesFor, policiesForTargets } from './select.js';

function p(key: string, over: Partial<Policy>): Policy {
  const [namespace, name] = key.split('/') as [string, string];
  return { key, name, namespace, scope: 'namespace', action: 'ALLOW', rules: [], ...over };
}

test('namespace_policy_applies_to_its_namespace_only', () => {
  const ps = [p('shop/a', {}), p('bank/b', {})];
  assert.deepEqual(policiesFor(ps, { namespace: 'shop', labels: {} }).map((x) => x.key), ['shop/a']);
});

test('targets_policy_is_never_for_node_agent_but_for_its_waypoint', () => {
  const t = p('shop/t', { scope: 'targets', targetRefs: [{ group: '', kind: 'Service', name: 'web' }] });
  assert.deepEqual(policiesFor([t], { namespace: 'shop', labels: {} }), []);
  assert.deepEqual(policiesForTargets([t], { namespace: 'shop', services: ['web'] }).map((x) => x.key), ['shop/t']);
});

test('root_namespace_policy_applies_to_every_namespace', () => {
  const g = p('ambient-system/mesh', { scope: 'global' });
  assert.equal(policiesFor([g], { namespace: 'bank', labels: {} }).length, 1);
});

test('root_namespace_policy_with_selector_selects_in_every_namespace', () => {
  const g = p('ambient-system/mesh', { scope: 'global', selector: { app: 'db' } });
  assert.equal(policiesFor([g], { namespace: 'bank', labels: { app: 'db', v: '1' } }).length, 1);
  assert.equal(policiesFor([g], { namespace: 'bank', labels: { app: 'web' } }).length, 0);
});

test('selector_needs_every_label', () => {
  const s = p('shop/s', { selector: { app: 'web', tier: 'front' } });
  assert.equal(policiesFor([s], { namespace: 'shop', labels: { app: 'web' } }).length, 0);
  assert.equal(policiesFor([s], { namespace: 'shop', labels: { app: 'web', tier: 'front' } }).length, 1);
});

test('empty_selector_selects_the_whole_namespace', () => {
  assert.equal(policiesFor([p('shop/s', { selector: {} })], { namespace: 'shop', labels: {} }).length, 1);
});

test('selector_does_not_match_inherited_object_properties', () => {
  assert.equal(policiesFor([p('shop/s', { selector: { toString: 'x' } })], { namespace: 'shop', labels: {} }).length, 0);
});

test('waypoint_targets_match_by_namespace_kind_and_name', () => {
  const svc = p('shop/svc', { scope: 'targets', targetRefs: [{ group: '', kind: 'Service', name: 'web' }] });
  const gw = p('shop/gw', { scope: 'targets', targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'waypoint' }] });
  const other = p('bank/svc', { scope: 'targets', targetRefs: [{ group: '', kind: 'Service', name: 'web' }] });
  const ns = p('shop/ns', {});
  const got = policiesForTargets([svc, gw, other, ns], { namespace: 'shop', services: ['web'], gateway: 'waypoint' }).map((x) => x.key);
  assert.deepEqual(got, ['shop/svc', 'shop/gw']);
  assert.deepEqual(policiesForTargets([svc, gw], { namespace: 'shop', services: ['api'] }), []);
});
