// Unit tests of defaulting, server-owned metadata on create and update, and Service
// address allocation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allocateClusterIP, allocateNodePort, applyDefaults } from './defaults.js';
import { kindByApiVersionKind, type KObject } from './kinds.js';
import { prepareCreate, prepareUpdate } from './object-lifecycle.js';
import { scaleOf, withScale } from './scale.js';
import { assignServiceAddresses } from './service-addresses.js';

const POD = kindByApiVersionKind('v1', 'Pod')!;
const CM = kindByApiVersionKind('v1', 'ConfigMap')!;
const NODE = kindByApiVersionKind('v1', 'Node')!;
const NOW = new Date('2025-03-01T12:00:00.123Z');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

test('pod_defaults_phase_pending_and_service_account', () => {
  const p = applyDefaults('Pod', { spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80 }] }, { name: 'd', image: 'x:1.2' }] } }) as Any;
  assert.equal(p.status.phase, 'Pending');
  assert.equal(p.spec.serviceAccountName, 'default');
  assert.equal(p.spec.restartPolicy, 'Always');
  assert.equal(p.spec.containers[0].imagePullPolicy, 'Always', 'untagged image');
  assert.equal(p.spec.containers[1].imagePullPolicy, 'IfNotPresent');
  assert.equal(p.spec.containers[0].ports[0].protocol, 'TCP');
});

test('defaults_do_not_override_given_values_or_touch_input', () => {
  const input = { spec: { serviceAccountName: 'bot', restartPolicy: 'Never', containers: [] } };
  const p = applyDefaults('Pod', input) as Any;
  assert.equal(p.spec.serviceAccountName, 'bot');
  assert.equal(p.spec.restartPolicy, 'Never');
  assert.equal((input.spec as Any).dnsPolicy, undefined);
});

test('service_and_deployment_and_namespace_defaults', () => {
  const s = applyDefaults('Service', { spec: { ports: [{ port: 80 }] } }) as Any;
  assert.deepEqual(s.spec.ports[0], { port: 80, protocol: 'TCP', targetPort: 80 });
  assert.equal(s.spec.type, 'ClusterIP');
  const d = applyDefaults('Deployment', { spec: { template: { spec: { containers: [] } } } }) as Any;
  assert.equal(d.spec.replicas, 1);
  assert.equal(d.spec.strategy.type, 'RollingUpdate');
  assert.equal(d.spec.template.spec.restartPolicy, 'Always');
  const n = applyDefaults('Namespace', { metadata: { name: 'team' } }) as Any;
  assert.equal(n.status.phase, 'Active');
  assert.equal(n.metadata.labels['kubernetes.io/metadata.name'], 'team');
});

test('secret_string_data_is_folded_into_data', () => {
  const s = applyDefaults('Secret', { stringData: { k: 'v' } }) as Any;
  assert.deepEqual(s.data, { k: Buffer.from('v').toString('base64') });
  assert.equal(s.stringData, undefined);
  assert.equal(s.type, 'Opaque');
});

test('create_sets_server_owned_metadata_and_drops_client_status', () => {
  const out = prepareCreate(POD, { metadata: { name: 'p', resourceVersion: '5', uid: 'client' }, spec: {}, status: { phase: 'Running' } }, { now: NOW, uid: 'u1' });
  assert.equal(out.apiVersion, 'v1');
  assert.equal(out.kind, 'Pod');
  assert.equal(out.metadata!.uid, 'u1');
  assert.equal(out.metadata!.creationTimestamp, '2025-03-01T12:00:00Z');
  assert.equal(out.metadata!.generation, 1);
  assert.equal(out.metadata!.resourceVersion, undefined);
  assert.equal(out['status'], undefined, 'a status-subresource kind starts with the server status');
  const node = prepareCreate(NODE, { metadata: { name: 'n', namespace: 'x' }, status: { capacity: { pods: '110' } } }, { now: NOW, uid: 'u2' });
  assert.deepEqual(node['status'], { capacity: { pods: '110' } }, 'a Node is registered with its status');
  assert.equal(node.metadata!.namespace, undefined, 'cluster-scoped');
});

test('update_keeps_identity_and_status_and_counts_generation', () => {
  const old: KObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'd', uid: 'u', resourceVersion: '7', generation: 3, creationTimestamp: 't' }, spec: { a: 1 }, status: { phase: 'Running' } };
  const labelled = prepareUpdate(POD, old, { metadata: { name: 'p', labels: { x: 'y' }, uid: 'other' }, spec: { a: 1 }, status: { phase: 'Failed' } });
  assert.equal(labelled.metadata!.uid, 'u');
  assert.equal(labelled.metadata!.resourceVersion, '7');
  assert.equal(labelled.metadata!.generation, 3, 'metadata change: same generation');
  assert.deepEqual(labelled['status'], { phase: 'Running' }, 'main resource ignores status');
  const changed = prepareUpdate(POD, old, { metadata: { name: 'p' }, spec: { a: 2 } });
  assert.equal(changed.metadata!.generation, 4);
  const status = prepareUpdate(POD, old, { metadata: { name: 'p', labels: { x: 'y' } }, spec: { a: 9 }, status: { phase: 'Succeeded' } }, 'status');
  assert.deepEqual(status['spec'], { a: 1 }, '/status ignores everything else');
  assert.deepEqual(status['status'], { phase: 'Succeeded' });
  assert.equal(status.metadata!.labels, undefined);
  const cm = prepareUpdate(CM, { ...old, kind: 'ConfigMap', data: {} }, { metadata: {}, data: { k: 'v' }, status: { free: 'form' } });
  assert.deepEqual(cm['status'], { free: 'form' }, 'kinds without a status subresource store what they are given');
});

test('cluster_ip_allocation_skips_network_and_first_address', () => {
  assert.deepEqual(allocateClusterIP(new Set()), { ok: true, value: '10.96.0.2' });
  assert.deepEqual(allocateClusterIP(new Set(['10.96.0.2', '10.96.0.3'])), { ok: true, value: '10.96.0.4' });
  assert.deepEqual(allocateClusterIP(new Set(), '10.96.0.1'), { ok: true, value: '10.96.0.1' }, 'asked for explicitly');
  assert.equal(allocateClusterIP(new Set(['10.96.0.10']), '10.96.0.10').ok, false);
  assert.equal(allocateClusterIP(new Set(), '10.97.0.1').ok, false);
  assert.deepEqual(allocateNodePort(new Set([30000])), { ok: true, value: 30001 });
});

test('service_addresses_allocate_keep_on_update_and_report_conflicts', () => {
  const svc = (name: string, spec: Any): KObject => ({ metadata: { name, namespace: 'd' }, spec: { ports: [{ port: 80 }], ...spec } });
  const a = assignServiceAddresses(svc('a', {}), []);
  assert.equal((a.object['spec'] as Any).clusterIP, '10.96.0.2');
  assert.deepEqual((a.object['spec'] as Any).clusterIPs, ['10.96.0.2']);
  const b = assignServiceAddresses(svc('b', { type: 'NodePort' }), [a.object]);
  assert.equal((b.object['spec'] as Any).clusterIP, '10.96.0.3');
  assert.equal((b.object['spec'] as Any).ports[0].nodePort, 30000);
  const kept = assignServiceAddresses(svc('b', { type: 'NodePort' }), [a.object], b.object);
  assert.equal((kept.object['spec'] as Any).clusterIP, '10.96.0.3', 'empty clusterIP on update keeps the old one');
  assert.equal((kept.object['spec'] as Any).ports[0].nodePort, 30000);
  const clash = assignServiceAddresses(svc('c', { clusterIP: '10.96.0.2' }), [a.object]);
  assert.deepEqual(clash.causes.map((c) => c.field), ['spec.clusterIPs']);
  const headless = assignServiceAddresses(svc('h', { clusterIP: 'None' }), []);
  assert.deepEqual((headless.object['spec'] as Any).clusterIPs, ['None']);
});

test('scale_view_of_a_deployment', () => {
  const d: KObject = { metadata: { name: 'web', namespace: 'd', resourceVersion: '3' }, spec: { replicas: 2, selector: { matchLabels: { app: 'web' } } }, status: { replicas: 1 } };
  const s = scaleOf(d);
  assert.deepEqual([s.kind, s.apiVersion, s.spec.replicas, s.status.replicas, s.status.selector, s.metadata!.resourceVersion], ['Scale', 'autoscaling/v1', 2, 1, 'app=web', '3']);
  assert.equal((withScale(d, { spec: { replicas: 5 } })['spec'] as Any).replicas, 5);
});
