// What each config client gets: node agents only the policies selecting a workload on their
// node (never targetRefs policies), every Workload and Service; waypoints everything.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Policy, Workload } from '../../core/config/model.js';
import type { VersionedResource } from '../../core/config/wire.js';
import { spiffeId } from '../../core/identity/spiffe.js';
import type { Caller } from './authorize.js';
import { createPolicyScope, nodeAgentResources, policySelectsWorkload } from './scope.js';

function workload(uid: string, ns: string, node: string, labels: Record<string, string> = {}): VersionedResource {
  const body: Workload = {
    uid, name: uid, namespace: ns, serviceAccount: 'default', identity: `spiffe://cluster.local/ns/${ns}/sa/default`, node, ips: ['10.244.0.1'],
    protocol: 'HBONE', labels, canonicalName: uid, canonicalRevision: 'latest', mtlsMode: 'PERMISSIVE', healthy: true,
  };
  return { kind: 'Workload', key: uid, version: '1', body };
}

function policy(ns: string, name: string, o: Partial<Policy> = {}): VersionedResource {
  const body: Policy = { key: `${ns}/${name}`, name, namespace: ns, scope: 'namespace', action: 'ALLOW', rules: [], ...o };
  return { kind: 'Policy', key: body.key, version: '1', body };
}

const service: VersionedResource = {
  kind: 'Service', key: 'shop/web.shop.svc.cluster.local', version: '1',
  body: { key: 'shop/web.shop.svc.cluster.local', name: 'web', namespace: 'shop', hostname: 'web.shop.svc.cluster.local', vips: ['10.96.0.1'], ports: [], endpoints: [] },
};

const agent = (node: string): Caller => ({ role: 'node-agent', node, identity: spiffeId('ambient-system', 'ambient-node-agent', 'cluster.local') });
const keys = (rs: readonly VersionedResource[]) => rs.map((r) => `${r.kind}/${r.key}`);

const RESOURCES = [
  workload('a', 'shop', 'n1', { app: 'web' }),
  workload('b', 'bank', 'n2', { app: 'db' }),
  service,
  policy('shop', 'ns-wide'),
  policy('shop', 'selects-db', { selector: { app: 'db' } }),
  policy('bank', 'bank-wide'),
  policy('ambient-system', 'mesh', { scope: 'global' }),
  policy('ambient-system', 'mesh-db', { scope: 'global', selector: { app: 'db' } }),
  policy('shop', 'attached', { scope: 'targets', targetRefs: [{ group: '', kind: 'Service', name: 'web' }] }),
];

test('scope_node_agent_gets_every_workload_and_service_and_only_its_nodes_policies', () => {
  assert.deepEqual(keys(nodeAgentResources('n1', RESOURCES)), ['Workload/a', 'Workload/b', 'Service/shop/web.shop.svc.cluster.local', 'Policy/shop/ns-wide', 'Policy/ambient-system/mesh']);
  assert.deepEqual(keys(nodeAgentResources('n2', RESOURCES)), ['Workload/a', 'Workload/b', 'Service/shop/web.shop.svc.cluster.local', 'Policy/bank/bank-wide', 'Policy/ambient-system/mesh', 'Policy/ambient-system/mesh-db']);
});

test('scope_node_without_workloads_gets_no_policy', () => {
  assert.deepEqual(keys(nodeAgentResources('n3', RESOURCES)).filter((k) => k.startsWith('Policy/')), []);
});

test('scope_targets_policy_never_reaches_a_node_agent', () => {
  for (const n of ['n1', 'n2']) assert.ok(!keys(nodeAgentResources(n, RESOURCES)).includes('Policy/shop/attached'));
});

test('scope_waypoint_gets_every_policy', () => {
  const wp: Caller = { role: 'waypoint', node: 'n1', identity: spiffeId('shop', 'wp', 'cluster.local') };
  assert.equal(createPolicyScope()('n1', RESOURCES, wp), RESOURCES);
});

test('scope_pod_arriving_on_a_node_brings_its_namespaces_policy', () => {
  const scope = createPolicyScope();
  const before = scope('n1', RESOURCES, agent('n1'));
  assert.ok(!keys(before).includes('Policy/bank/bank-wide'));
  const after = [...RESOURCES, workload('c', 'bank', 'n1')];
  assert.ok(keys(scope('n1', after, agent('n1'))).includes('Policy/bank/bank-wide'));
});

test('scope_result_is_shared_for_one_resource_set_and_node', () => {
  const scope = createPolicyScope();
  assert.equal(scope('n1', RESOURCES, agent('n1')), scope('n1', RESOURCES, agent('n1')));
  assert.notEqual(scope('n1', RESOURCES, agent('n1')), scope('n2', RESOURCES, agent('n2')));
});

test('scope_selector_needs_every_label_and_respects_namespace', () => {
  const w = { namespace: 'shop', labels: { app: 'web', version: 'v1' } };
  const p = (o: Partial<Policy>) => policy('shop', 'p', o).body as Policy;
  assert.equal(policySelectsWorkload(p({ selector: { app: 'web', version: 'v1' } }), w), true);
  assert.equal(policySelectsWorkload(p({ selector: { app: 'web', version: 'v2' } }), w), false);
  assert.equal(policySelectsWorkload({ ...p({}), namespace: 'other' }, w), false);
  assert.equal(policySelectsWorkload({ ...p({ scope: 'global' }), namespace: 'ambient-system' }, w), true);
  assert.equal(policySelectsWorkload(p({ selector: { toString: 'x' } }), { namespace: 'shop', labels: {} }), false);
});
