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
