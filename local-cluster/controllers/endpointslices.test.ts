// Unit tests of the EndpointSlice controller's plan: selection, readiness, ports, identity.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod, V1Service, V1ServicePort } from '@kubernetes/client-node';
import { MANAGED_BY, MANAGED_BY_LABEL, planEndpointSlice, sameSlice, selects, SERVICE_NAME_LABEL } from './endpointslices.js';

function service(opts: { selector?: Record<string, string> | null; ports?: V1ServicePort[]; namespace?: string } = {}): V1Service {
  const selector = opts.selector === undefined ? { app: 'web' } : opts.selector;
  return {
    metadata: { name: 'web', namespace: opts.namespace ?? 'shop', uid: 'uid-svc' },
    spec: {
      ...(selector ? { selector } : {}),
      ports: opts.ports ?? [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
    },
  };
}

function port(p: Partial<V1ServicePort> & { targetPort?: number | string }): V1ServicePort {
  return { port: 80, ...p } as V1ServicePort;
}

function pod(
  name: string,
  o: { ns?: string; labels?: Record<string, string>; ip?: string | null; ready?: boolean; node?: string; deleting?: boolean; ports?: { name?: string; containerPort: number }[][] } = {},
): V1Pod {
  const ip = o.ip === undefined ? `10.0.0.${name.length}` : o.ip;
  return {
    metadata: {
      name,
      namespace: o.ns ?? 'shop',
      uid: `uid-${name}`,
      labels: o.labels ?? { app: 'web' },
      ...(o.deleting ? { deletionTimestamp: new Date() } : {}),
    },
    spec: {
      nodeName: o.node ?? 'n1',
      containers: (o.ports ?? [[]]).map((ps, i) => ({ name: `c${i}`, ports: ps })),
    },
    status: { phase: 'Running', ...(ip ? { podIP: ip } : {}), conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
  };
}

// --- selects ---

test('selects_matches_when_all_selector_labels_match', () => {
  assert.equal(selects({ app: 'web', tier: 'f' }, { app: 'web', tier: 'f', extra: 'x' }), true);
});

test('selects_rejects_a_differing_or_missing_label', () => {
  assert.equal(selects({ app: 'web', tier: 'f' }, { app: 'web', tier: 'b' }), false);
  assert.equal(selects({ app: 'web', tier: 'f' }, { app: 'web' }), false);
  assert.equal(selects({ app: 'web' }, undefined), false);
});

test('selects_nothing_with_an_empty_or_missing_selector', () => {
  assert.equal(selects(undefined, { app: 'web' }), false);
  assert.equal(selects({}, { app: 'web' }), false);
});

// --- plan: selection ---

test('plan_is_undefined_for_a_service_without_selector', () => {
  assert.equal(planEndpointSlice(service({ selector: null }), [pod('a')]), undefined);
  assert.equal(planEndpointSlice(service({ selector: {} }), [pod('a')]), undefined);
});

test('plan_with_no_matching_pods_has_no_endpoints_but_keeps_ports', () => {
  const s = planEndpointSlice(service(), [pod('a', { labels: { app: 'other' } })])!;
  assert.deepEqual(s.endpoints, []);
  assert.deepEqual(s.ports, [{ name: 'http', protocol: 'TCP', port: 8080 }]);
});

test('plan_selects_pods_by_label', () => {
  const s = planEndpointSlice(service(), [pod('a'), pod('b', { labels: { app: 'db' } }), pod('c', { labels: { app: 'web', v: '2' } })])!;
  assert.deepEqual(
    s.endpoints.map((e) => e.targetRef!.name),
    ['a', 'c'],
  );
});

test('plan_selects_only_pods_of_the_services_namespace', () => {
  const s = planEndpointSlice(service(), [pod('a'), pod('b', { ns: 'other' })])!;
  assert.deepEqual(
    s.endpoints.map((e) => e.targetRef!.name),
    ['a'],
  );
});

test('plan_skips_pods_without_an_ip', () => {
  const s = planEndpointSlice(service(), [pod('a', { ip: null }), pod('b', { ip: '10.1.1.1' })])!;
  assert.deepEqual(
    s.endpoints.map((e) => e.addresses),
    [['10.1.1.1']],
  );
});

test('plan_skips_pods_being_deleted', () => {
  const s = planEndpointSlice(service(), [pod('a', { deleting: true }), pod('b')])!;
  assert.deepEqual(
    s.endpoints.map((e) => e.targetRef!.name),
    ['b'],
  );
});

test('plan_endpoints_are_sorted_by_pod_name', () => {
  const s = planEndpointSlice(service(), [pod('c'), pod('a'), pod('b')])!;
  assert.deepEqual(
    s.endpoints.map((e) => e.targetRef!.name),
    ['a', 'b', 'c'],
  );
});

test('plan_endpoint_has_address_node_and_target_ref', () => {
  const s = planEndpointSlice(service(), [pod('a', { ip: '10.2.3.4', node: 'n7' })])!;
  assert.deepEqual(s.endpoints[0], {
    addresses: ['10.2.3.4'],
    conditions: { ready: true, serving: true, terminating: false },
    nodeName: 'n7',
    targetRef: { kind: 'Pod', name: 'a', namespace: 'shop', uid: 'uid-a' },
  });
});

// --- plan: readiness ---

test('plan_endpoint_ready_follows_the_pod_ready_condition', () => {
  const s = planEndpointSlice(service(), [pod('a', { ready: true }), pod('b', { ready: false })])!;
  assert.deepEqual(
    s.endpoints.map((e) => [e.targetRef!.name, e.conditions!.ready, e.conditions!.serving, e.conditions!.terminating]),
    [
      ['a', true, true, false],
      ['b', false, false, false],
    ],
  );
});

test('plan_endpoint_is_not_ready_for_a_pod_without_conditions', () => {
  const p = pod('a');
  delete p.status!.conditions;
  const s = planEndpointSlice(service(), [p])!;
  assert.equal(s.endpoints[0]!.conditions!.ready, false);
});

// --- plan: ports ---

test('plan_numeric_target_port_is_used_as_is', () => {
  const s = planEndpointSlice(service({ ports: [port({ name: 'http', port: 80, targetPort: 9000 })] }), [pod('a')])!;
  assert.equal(s.ports![0]!.port, 9000);
});

test('plan_string_numeric_target_port_is_a_number', () => {
  const s = planEndpointSlice(service({ ports: [port({ name: 'http', port: 80, targetPort: '9001' })] }), [pod('a')])!;
  assert.equal(s.ports![0]!.port, 9001);
  assert.equal(typeof s.ports![0]!.port, 'number');
});

test('plan_default_target_port_is_the_service_port', () => {
  const s = planEndpointSlice(service({ ports: [port({ name: 'http', port: 81 })] }), [pod('a')])!;
  assert.equal(s.ports![0]!.port, 81);
});

test('plan_named_target_port_is_resolved_from_container_ports', () => {
  const p = pod('a', {
    ports: [
      [{ name: 'metrics', containerPort: 9090 }],
      [{ name: 'admin', containerPort: 7000 }, { name: 'web', containerPort: 8081 }],
    ],
  });
  const s = planEndpointSlice(service({ ports: [port({ name: 'http', port: 80, targetPort: 'web' })] }), [p])!;
  assert.equal(s.ports![0]!.port, 8081);
});

test('plan_unresolvable_named_target_port_falls_back_to_the_service_port', () => {
  const s = planEndpointSlice(service({ ports: [port({ name: 'http', port: 82, targetPort: 'nope' })] }), [pod('a')])!;
  assert.equal(s.ports![0]!.port, 82);
});

test('plan_ports_default_name_and_protocol', () => {
  const s = planEndpointSlice(service({ ports: [port({ port: 80 })] }), [pod('a')])!;
  assert.deepEqual(s.ports, [{ name: '', protocol: 'TCP', port: 80 }]);
});

test('plan_keeps_each_service_port_in_order', () => {
  const s = planEndpointSlice(
    service({ ports: [port({ name: 'b', port: 443, protocol: 'TCP', targetPort: 8443 }), port({ name: 'a', port: 53, protocol: 'UDP' })] }),
    [pod('a')],
  )!;
  assert.deepEqual(s.ports, [
    { name: 'b', protocol: 'TCP', port: 8443 },
    { name: 'a', protocol: 'UDP', port: 53 },
  ]);
});

test('plan_service_without_ports_has_empty_ports', () => {
  const svc = service();
  delete svc.spec!.ports;
  assert.deepEqual(planEndpointSlice(svc, [pod('a')])!.ports, []);
});

// --- plan: identity ---

test('plan_slice_is_named_and_labelled_for_its_service', () => {
  const s = planEndpointSlice(service(), [])!;
  assert.equal(s.apiVersion, 'discovery.k8s.io/v1');
  assert.equal(s.kind, 'EndpointSlice');
  assert.equal(s.addressType, 'IPv4');
  assert.equal(s.metadata!.name, 'web');
  assert.equal(s.metadata!.namespace, 'shop');
  assert.deepEqual(s.metadata!.labels, { [SERVICE_NAME_LABEL]: 'web', [MANAGED_BY_LABEL]: MANAGED_BY });
  assert.equal(SERVICE_NAME_LABEL, 'kubernetes.io/service-name');
  assert.equal(MANAGED_BY_LABEL, 'endpointslice.kubernetes.io/managed-by');
});

test('plan_slice_is_owned_by_the_service', () => {
  const s = planEndpointSlice(service(), [])!;
  assert.deepEqual(s.metadata!.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'uid-svc', controller: true }]);
});

// --- sameSlice ---

test('same_slice_is_false_without_a_stored_slice', () => {
  assert.equal(sameSlice(undefined, planEndpointSlice(service(), [pod('a')])!), false);
});

test('same_slice_is_true_for_the_same_plan', () => {
  const a = planEndpointSlice(service(), [pod('a'), pod('b')])!;
  const b = planEndpointSlice(service(), [pod('b'), pod('a')])!;
  assert.equal(sameSlice(a, b), true);
});

test('same_slice_ignores_server_set_metadata', () => {
  const plan = planEndpointSlice(service(), [pod('a')])!;
  const stored = structuredClone(plan);
  stored.metadata = { ...stored.metadata, resourceVersion: '42', uid: 'x', generation: 3, creationTimestamp: new Date() };
  assert.equal(sameSlice(stored, plan), true);
});

test('same_slice_treats_missing_stored_endpoints_as_empty', () => {
  const plan = planEndpointSlice(service(), [])!;
  const stored = structuredClone(plan);
  delete (stored as { endpoints?: unknown }).endpoints;
  assert.equal(sameSlice(stored, plan), true);
});

test('same_slice_is_false_when_readiness_changes', () => {
  const a = planEndpointSlice(service(), [pod('a', { ready: false })])!;
  const b = planEndpointSlice(service(), [pod('a', { ready: true })])!;
  assert.equal(sameSlice(a, b), false);
});

test('same_slice_is_false_when_an_endpoint_is_added', () => {
  const a = planEndpointSlice(service(), [pod('a')])!;
  const b = planEndpointSlice(service(), [pod('a'), pod('b')])!;
  assert.equal(sameSlice(a, b), false);
});

test('same_slice_is_false_when_an_address_changes', () => {
  const a = planEndpointSlice(service(), [pod('a', { ip: '10.0.0.1' })])!;
  const b = planEndpointSlice(service(), [pod('a', { ip: '10.0.0.2' })])!;
  assert.equal(sameSlice(a, b), false);
});

test('same_slice_is_false_when_ports_change', () => {
  const a = planEndpointSlice(service({ ports: [port({ name: 'http', port: 80 })] }), [pod('a')])!;
  const b = planEndpointSlice(service({ ports: [port({ name: 'http', port: 81 })] }), [pod('a')])!;
  assert.equal(sameSlice(a, b), false);
});
