import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1EndpointSlice, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import { readStoredStatus, serviceWaypoint, serviceWorkloads, statusDiffers, storedStatus, waypointPods, type ClusterView } from './rollout-targets.js';

const pod = (name: string, labels: Record<string, string>, ip?: string, more: Partial<V1Pod> = {}): V1Pod => ({ metadata: { name, namespace: 'shop', labels }, status: { phase: 'Running', ...(ip ? { podIP: ip } : {}) }, ...more });
const svc = (name: string, selector?: Record<string, string>, labels?: Record<string, string>): V1Service => ({ metadata: { name, namespace: 'shop', ...(labels ? { labels } : {}) }, spec: { ...(selector ? { selector } : {}) } });

function view(o: Partial<ClusterView>): ClusterView {
  return { namespaces: [], pods: [], services: [], endpointSlices: [], ...o };
}

test('the_services_own_use_waypoint_label_wins_over_its_namespaces', () => {
  const ns: V1Namespace = { metadata: { name: 'shop', labels: { 'ambient.dev/use-waypoint': 'ns-wp' } } };
  assert.deepEqual(serviceWaypoint(view({ namespaces: [ns], services: [svc('echo', undefined, { 'ambient.dev/use-waypoint': 'own' })] }), 'shop', 'echo'), { name: 'own', namespace: 'shop' });
  assert.deepEqual(serviceWaypoint(view({ namespaces: [ns], services: [svc('echo')] }), 'shop', 'echo'), { name: 'ns-wp', namespace: 'shop' });
});

test('a_service_without_waypoint_or_missing_has_none', () => {
  assert.equal(serviceWaypoint(view({ services: [svc('echo')] }), 'shop', 'echo'), undefined);
  assert.equal(serviceWaypoint(view({}), 'shop', 'echo'), undefined);
  assert.equal(serviceWaypoint(view({ services: [svc('echo', undefined, { 'ambient.dev/use-waypoint': 'none' })] }), 'shop', 'echo'), undefined);
});

test('waypoint_pods_are_the_running_ones_with_an_ip_sorted_and_capped', () => {
  const gw = { 'gateway.networking.k8s.io/gateway-name': 'wp' };
  const pods = [pod('wp-b', gw, '10.0.0.2'), pod('wp-a', gw, '10.0.0.1'), pod('wp-noip', gw), pod('other', { 'gateway.networking.k8s.io/gateway-name': 'x' }, '10.0.0.3'), pod('wp-gone', gw, '10.0.0.4', { status: { phase: 'Failed', podIP: '10.0.0.4' } })];
  assert.deepEqual(waypointPods(view({ pods }), { name: 'wp', namespace: 'shop' }, 10).map((p) => [p.name, p.ip]), [['wp-a', '10.0.0.1'], ['wp-b', '10.0.0.2']]);
  assert.equal(waypointPods(view({ pods }), { name: 'wp', namespace: 'shop' }, 1).length, 1);
});

test('service_workloads_come_from_endpoint_slices_and_the_selector_by_canonical_name', () => {
  const slice: V1EndpointSlice = { metadata: { name: 's', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'echo-v2' } }, addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.9'], targetRef: { kind: 'Pod', name: 'p2' } }] };
  const pods = [pod('p1', { app: 'echo', version: 'v2' }), pod('p2', { 'app.kubernetes.io/name': 'echo-canary' }), pod('p3', { app: 'echo-v1' })];
  assert.deepEqual([...serviceWorkloads(view({ pods, endpointSlices: [slice], services: [svc('echo-v2', { version: 'v2' })] }), 'shop', 'echo-v2')].sort(), ['shop/echo', 'shop/echo-canary']);
});

test('a_pod_without_canonical_labels_is_named_by_its_deployment', () => {
  const p = pod('web-abc', { role: 'canary' }, undefined, {});
  p.metadata!.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-v2', uid: 'u', controller: true }];
  assert.deepEqual([...serviceWorkloads(view({ pods: [p], services: [svc('web-v2', { role: 'canary' })] }), 'shop', 'web-v2')], ['shop/web-v2']);
});

test('a_service_with_an_empty_selector_selects_nothing', () => {
  assert.equal(serviceWorkloads(view({ pods: [pod('p', { app: 'a' })], services: [svc('x', {})] }), 'shop', 'x').size, 0);
});

test('stored_status_round_trips_through_the_object', () => {
  const s = { phase: 'RolledBack' as const, canaryWeight: 0, step: 1, message: 'm', stepStartedAt: Date.parse('2026-01-02T03:04:05.000Z'), revision: 'r', failedGate: { gate: 'minSuccessRate' as const, measured: 0.5, threshold: 0.99 } };
  const stored = storedStatus(s, 3);
  assert.equal(stored['stepStartedAt'], '2026-01-02T03:04:05.000Z');
  assert.equal(stored['observedGeneration'], 3);
  assert.deepEqual(readStoredStatus(JSON.parse(JSON.stringify(stored))), s);
});

test('a_status_without_a_failed_gate_removes_it_with_null', () => {
  const stored = storedStatus({ phase: 'Progressing', canaryWeight: 5, step: 0, message: '', stepStartedAt: 0, revision: 'r' }, undefined);
  assert.equal(stored['failedGate'], null);
  assert.equal('observedGeneration' in stored, false);
});

test('a_stored_status_that_cannot_be_resumed_reads_as_none', () => {
  assert.equal(readStoredStatus(undefined), undefined);
  assert.equal(readStoredStatus({ phase: 'Weird', canaryWeight: 1, step: 0, revision: 'r' }), undefined);
  assert.equal(readStoredStatus({ phase: 'Paused', canaryWeight: 101, step: 0, revision: 'r' }), undefined);
  assert.equal(readStoredStatus({ phase: 'Paused', canaryWeight: 10, step: -1, revision: 'r' }), undefined);
  assert.equal(readStoredStatus({ phase: 'Paused', canaryWeight: 10, step: 0 }), undefined);
  assert.equal(readStoredStatus({ message: 'invalid spec: x' }), undefined);
});

test('status_differs_only_on_the_fields_written', () => {
  const desired = { phase: 'Paused', failedGate: null, step: 1 };
  assert.equal(statusDiffers({ phase: 'Paused', step: 1, other: 'kept' }, desired), false);
  assert.equal(statusDiffers({ phase: 'Paused', step: 2 }, desired), true);
  assert.equal(statusDiffers(undefined, desired), true);
});
