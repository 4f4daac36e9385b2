// What each config client gets: node agents only the policies selecting a workload on their
// node or a pod scheduled there (never targetRefs policies), every Workload and Service;
// waypoints every Workload and Service and only the Routes and attached policies of what
// they serve.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Policy, Workload } from '../../core/config/model.js';
import type { VersionedResource } from '../../core/config/wire.js';
import { spiffeId } from '../../core/identity/spiffe.js';
import type { Caller } from './authorize.js';
import type { TableChange, TableEntry } from './resync.js';
import { createPolicyScope, nodeAgentResources, PolicyScopeIndex, type ScheduledPod } from './scope.js';

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

const boundWeb: VersionedResource = { ...service, body: { ...(service.body as object), waypoint: { service: 'shop/wp.shop.svc.cluster.local', port: 15008 } } as VersionedResource['body'] };

test('scope_waypoint_gets_only_the_policies_attached_to_what_it_serves', () => {
  const wp: Caller = { role: 'waypoint', node: 'n1', identity: spiffeId('shop', 'wp', 'cluster.local') };
  const withBound = RESOURCES.map((r) => (r === service ? boundWeb : r));
  const gatewayPolicy = policy('shop', 'on-gateway', { scope: 'targets', targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'wp' }] });
  const otherGateway = policy('shop', 'on-other', { scope: 'targets', targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'other' }] });
  assert.deepEqual(keys(createPolicyScope()('n1', [...withBound, gatewayPolicy, otherGateway], wp)), [
    'Workload/a', 'Workload/b', 'Service/shop/web.shop.svc.cluster.local', 'Policy/shop/attached', 'Policy/shop/on-gateway',
  ]);
  // web not bound to it: the policy attached to web is another waypoint's business.
  assert.deepEqual(keys(createPolicyScope()('n1', RESOURCES, wp)).filter((k) => k.startsWith('Policy/')), []);
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
  const pod: ScheduledPod = { namespace: 'shop', labels: { app: 'web', version: 'v1' } };
  const rs = [
    policy('shop', 'both', { selector: { app: 'web', version: 'v1' } }),
    policy('shop', 'other-version', { selector: { app: 'web', version: 'v2' } }),
    policy('other', 'other-ns'),
    policy('ambient-system', 'mesh', { scope: 'global' }),
    policy('shop', 'inherited', { selector: { toString: 'x' } }),
  ];
  assert.deepEqual(keys(nodeAgentResources('n1', rs, [pod])), ['Policy/shop/both', 'Policy/ambient-system/mesh']);
});

// A pod is served by its node agent from its CNI ADD, before it has an IP and so before its
// Workload exists: the policies selecting it must already be on that node.
test('scope_scheduled_pod_without_workload_brings_its_namespaces_policy', () => {
  const out = keys(nodeAgentResources('n3', RESOURCES, [{ namespace: 'bank', labels: {} }]));
  assert.deepEqual(out.filter((k) => k.startsWith('Policy/')), ['Policy/bank/bank-wide', 'Policy/ambient-system/mesh']);
});

test('scope_scheduled_pod_brings_a_root_namespace_selector_policy', () => {
  const out = keys(nodeAgentResources('n3', RESOURCES, [{ namespace: 'web-team', labels: { app: 'db' } }]));
  assert.deepEqual(out.filter((k) => k.startsWith('Policy/')), ['Policy/ambient-system/mesh', 'Policy/ambient-system/mesh-db']);
});

test('scope_scheduled_pod_brings_nothing_it_is_not_selected_by', () => {
  const rs = RESOURCES.filter((r) => !(r.kind === 'Policy' && (r.body as Policy).scope === 'global'));
  const out = keys(nodeAgentResources('n3', rs, [{ namespace: 'elsewhere', labels: { app: 'db' } }]));
  assert.deepEqual(out.filter((k) => k.startsWith('Policy/')), []);
  assert.ok(!keys(nodeAgentResources('n3', RESOURCES, [{ namespace: 'shop', labels: {} }])).includes('Policy/shop/attached'), 'targetRefs policies still never reach a node agent');
});

test('scope_reads_the_pods_scheduled_to_the_callers_node', () => {
  const asked: string[] = [];
  const scope = createPolicyScope((node) => {
    asked.push(node);
    return node === 'n3' ? [{ namespace: 'bank', labels: {} }] : [];
  });
  assert.ok(keys(scope('n3', RESOURCES, agent('n3'))).includes('Policy/bank/bank-wide'));
  assert.ok(!keys(scope('n1', RESOURCES, agent('n1'))).includes('Policy/bank/bank-wide'));
  assert.deepEqual(asked, ['n3', 'n1']);
});

// The policy leaves the node with the last pod it selects there: the next resource set (a
// rescope bumps the version, so a new snapshot) is computed from the new placement.
test('scope_policy_leaves_the_node_when_no_scheduled_pod_there_is_selected', () => {
  let pods: ScheduledPod[] = [{ namespace: 'bank', labels: {} }];
  const scope = createPolicyScope(() => pods);
  assert.ok(keys(scope('n3', RESOURCES, agent('n3'))).includes('Policy/bank/bank-wide'));
  pods = [];
  const next = [...RESOURCES];
  assert.ok(!keys(scope('n3', next, agent('n3'))).includes('Policy/bank/bank-wide'));
});

// The incremental form: the same answer as nodeAgentResources, kept from the table's
// changes; a Workload change recomputes its node's set only, a Policy change every node's.
function change(before: VersionedResource | undefined, after: VersionedResource | undefined): TableChange {
  const id = `${(after ?? before)!.kind}/${(after ?? before)!.key}`;
  const entry = (r: VersionedResource): TableEntry => ({ id, resource: r, wire: '', digest: '' });
  return { id, ...(before ? { before: entry(before) } : {}), ...(after ? { after: entry(after) } : {}) };
}

const policyIds = (node: string, rs: readonly VersionedResource[], scheduled: ScheduledPod[] = []) =>
  new Set(keys(nodeAgentResources(node, rs, scheduled)).filter((k) => k.startsWith('Policy/')));

test('policy_scope_index_agrees_with_node_agent_resources', () => {
  const index = new PolicyScopeIndex((node) => (node === 'n3' ? [{ namespace: 'bank', labels: {} }] : []));
  index.observe(RESOURCES.map((r) => change(undefined, r)));
  for (const n of ['n1', 'n2', 'n3', 'n4']) {
    assert.deepEqual(index.policiesFor(n), policyIds(n, RESOURCES, n === 'n3' ? [{ namespace: 'bank', labels: {} }] : []), n);
  }
});

test('policy_scope_index_recomputes_only_the_nodes_a_workload_change_touches', () => {
  const index = new PolicyScopeIndex();
  index.observe(RESOURCES.map((r) => change(undefined, r)));
  const n1 = index.policiesFor('n1');
  const n2 = index.policiesFor('n2');
  const computed = index.computed;
  // Workload b (bank, app=db) moves from n2 to n1.
  const moved = workload('b', 'bank', 'n1', { app: 'db' });
  index.observe([change(RESOURCES[1], moved)]);
  const after = RESOURCES.map((r) => (r.key === 'b' ? moved : r));
  assert.deepEqual(index.policiesFor('n1'), policyIds('n1', after));
  assert.deepEqual(index.policiesFor('n2'), policyIds('n2', after));
  assert.equal(index.computed - computed, 2, 'n1 and n2 recomputed');
  assert.notEqual(index.policiesFor('n1'), n1);
  assert.equal(index.policiesFor('n3').size, 0);
  // A change on n3 leaves n1's and n2's sets as they are (the same objects).
  const n1Now = index.policiesFor('n1');
  index.observe([change(undefined, workload('c', 'shop', 'n3'))]);
  assert.equal(index.policiesFor('n1'), n1Now);
  void n2;
});

test('policy_scope_index_invalidate_reads_the_scheduled_pods_again', () => {
  let pods: ScheduledPod[] = [];
  const index = new PolicyScopeIndex(() => pods);
  index.observe(RESOURCES.map((r) => change(undefined, r)));
  assert.equal(index.policiesFor('n9').size, 0);
  pods = [{ namespace: 'bank', labels: {} }];
  assert.equal(index.policiesFor('n9').size, 0, 'cached until told');
  index.invalidate(['n9']);
  assert.deepEqual(index.policiesFor('n9'), new Set(['Policy/bank/bank-wide', 'Policy/ambient-system/mesh']));
});

const routeResource: VersionedResource = {
  kind: 'Route', key: 'shop/HTTPRoute/r', version: '1',
  body: { key: 'shop/HTTPRoute/r', routeKind: 'HTTPRoute', name: 'r', namespace: 'shop', created: '2024-01-01T00:00:00Z', parents: [{ service: 'shop/web.shop.svc.cluster.local' }], hostnames: [], rules: [] },
};

test('scope_route_never_reaches_a_node_agent_and_reaches_only_the_waypoint_of_its_parent', () => {
  const all = [...RESOURCES.map((r) => (r === service ? boundWeb : r)), routeResource];
  assert.equal(keys(nodeAgentResources('n1', all)).includes('Route/shop/HTTPRoute/r'), false);
  assert.equal(keys(createPolicyScope()('n1', all, agent('n1'))).includes('Route/shop/HTTPRoute/r'), false);
  const own: Caller = { role: 'waypoint', node: 'n1', identity: spiffeId('shop', 'wp', 'cluster.local') };
  assert.ok(keys(createPolicyScope()('n1', all, own)).includes('Route/shop/HTTPRoute/r'));
  // Another team's waypoint (any namespace may create one) learns nothing of this route.
  const other: Caller = { role: 'waypoint', node: 'n1', identity: spiffeId('attacker', 'wp', 'cluster.local') };
  assert.equal(keys(createPolicyScope()('n1', all, other)).includes('Route/shop/HTTPRoute/r'), false);
});

const trafficPolicyResource: VersionedResource = {
  kind: 'TrafficPolicy', key: 'shop/tp', version: '1',
  body: { key: 'shop/tp', name: 'tp', namespace: 'shop', created: '2024-01-01T00:00:00Z', targets: [{ service: 'shop/web.shop.svc.cluster.local', port: 80 }], loadBalancer: { algorithm: 'ROUND_ROBIN', warmupMs: 0, localityPreference: true, ringSize: 1024, maglevTableSize: 65537 } },
};

test('scope_traffic_policy_never_reaches_a_node_agent_and_reaches_only_the_waypoint_of_its_target', () => {
  const all = [...RESOURCES.map((r) => (r === service ? boundWeb : r)), trafficPolicyResource];
  assert.equal(keys(nodeAgentResources('n1', all)).includes('TrafficPolicy/shop/tp'), false);
  assert.equal(keys(createPolicyScope()('n1', all, agent('n1'))).includes('TrafficPolicy/shop/tp'), false);
  const own: Caller = { role: 'waypoint', node: 'n1', identity: spiffeId('shop', 'wp', 'cluster.local') };
  assert.ok(keys(createPolicyScope()('n1', all, own)).includes('TrafficPolicy/shop/tp'));
  const other: Caller = { role: 'waypoint', node: 'n1', identity: spiffeId('attacker', 'wp', 'cluster.local') };
  assert.equal(keys(createPolicyScope()('n1', all, other)).includes('TrafficPolicy/shop/tp'), false);
});

test('scope_traffic_policy_of_a_service_bound_to_no_waypoint_reaches_no_waypoint', () => {
  const all = [...RESOURCES, trafficPolicyResource];
  const own: Caller = { role: 'waypoint', node: 'n1', identity: spiffeId('shop', 'wp', 'cluster.local') };
  assert.equal(keys(createPolicyScope()('n1', all, own)).includes('TrafficPolicy/shop/tp'), false);
});
