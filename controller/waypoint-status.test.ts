import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Gateway } from './translate/input.js';
import { checkWaypointGateway, REPLICAS_ANNOTATION } from './waypoint-plan.js';
import { gatewayStatus, statusDiffers, type StatusInputs } from './waypoint-status.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const T1 = new Date('2026-01-01T00:05:00Z');

function gateway(listeners: unknown[] = [{ name: 'mesh', port: 15008, protocol: 'HBONE' }], annotations?: Record<string, string>): Gateway {
  return { metadata: { name: 'waypoint', namespace: 'shop', uid: 'u', generation: 4, ...(annotations ? { annotations } : {}) }, spec: { gatewayClassName: 'ambient-waypoint', listeners: listeners as never } };
}

function inputs(gw: Gateway, extra: Partial<StatusInputs> = {}): StatusInputs {
  return { check: checkWaypointGateway(gw), conflicts: [], missing: [], ...extra };
}

const cond = (s: ReturnType<typeof gatewayStatus>, type: string) => s.conditions.find((c) => c.type === type)!;
const SVC = { spec: { clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20', 'fd00::20'] } };

test('accepted_and_pending_until_a_replica_is_ready', () => {
  const gw = gateway();
  const s = gatewayStatus(gw, inputs(gw, { deployment: { spec: { replicas: 2 }, status: {} }, service: SVC }), T0);
  assert.deepEqual([cond(s, 'Accepted').status, cond(s, 'Accepted').reason], ['True', 'Accepted']);
  assert.deepEqual([cond(s, 'Programmed').status, cond(s, 'Programmed').reason], ['False', 'Pending']);
  assert.match(cond(s, 'Programmed').message, /0\/2 ready/);
  assert.equal(cond(s, 'Accepted').observedGeneration, 4);
  assert.equal(cond(s, 'Accepted').lastTransitionTime, '2026-01-01T00:00:00Z');
});

test('programmed_with_the_service_addresses_once_a_replica_is_ready', () => {
  const gw = gateway();
  const s = gatewayStatus(gw, inputs(gw, { deployment: { spec: { replicas: 2 }, status: { readyReplicas: 1 } }, service: SVC }), T0);
  assert.deepEqual([cond(s, 'Programmed').status, cond(s, 'Programmed').reason], ['True', 'Programmed']);
  assert.deepEqual(s.addresses, [{ type: 'IPAddress', value: '10.96.0.20' }, { type: 'IPAddress', value: 'fd00::20' }]);
  assert.deepEqual(s.listeners.map((l) => [l.name, l.attachedRoutes, l.supportedKinds, l.conditions.map((c) => `${c.type}=${c.status}`)]), [['mesh', 0, [], ['Accepted=True', 'Programmed=True', 'ResolvedRefs=True']]]);
});

test('pending_while_objects_are_being_created', () => {
  const gw = gateway();
  const s = gatewayStatus(gw, inputs(gw, { missing: ['Deployment', 'Service'] }), T0);
  assert.deepEqual([cond(s, 'Programmed').status, cond(s, 'Programmed').reason], ['False', 'Pending']);
  assert.match(cond(s, 'Programmed').message, /Deployment, Service/);
  assert.deepEqual(s.addresses, []);
});

test('service_without_cluster_ip_is_address_not_assigned', () => {
  const gw = gateway();
  const s = gatewayStatus(gw, inputs(gw, { deployment: { status: { readyReplicas: 1 } }, service: { spec: { clusterIP: 'None' } } }), T0);
  assert.equal(cond(s, 'Programmed').reason, 'AddressNotAssigned');
});

test('no_hbone_listener_is_not_accepted_and_not_programmed_and_the_listener_says_why', () => {
  const gw = gateway([{ name: 'http', port: 80, protocol: 'HTTP' }]);
  const s = gatewayStatus(gw, inputs(gw), T0);
  assert.deepEqual([cond(s, 'Accepted').status, cond(s, 'Accepted').reason], ['False', 'ListenersNotValid']);
  assert.deepEqual([cond(s, 'Programmed').status, cond(s, 'Programmed').reason], ['False', 'Invalid']);
  assert.deepEqual(s.listeners[0]!.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`), ['Accepted=False/UnsupportedProtocol', 'Programmed=False/Invalid', 'ResolvedRefs=True/ResolvedRefs']);
});

test('hbone_listener_with_bad_port_is_port_unavailable', () => {
  const gw = gateway([{ name: 'mesh', port: 0, protocol: 'HBONE' }]);
  const s = gatewayStatus(gw, inputs(gw), T0);
  assert.equal(s.listeners[0]!.conditions[0]!.reason, 'PortUnavailable');
});

test('bad_replicas_annotation_is_not_accepted_invalid_parameters', () => {
  const gw = gateway(undefined, { [REPLICAS_ANNOTATION]: 'many' });
  const s = gatewayStatus(gw, inputs(gw), T0);
  assert.deepEqual([cond(s, 'Accepted').status, cond(s, 'Accepted').reason], ['False', 'InvalidParameters']);
  assert.match(cond(s, 'Accepted').message, /"many"/);
});

test('an_ignored_extra_listener_keeps_accepted_true_with_listeners_not_valid', () => {
  const gw = gateway([{ name: 'mesh', port: 15008, protocol: 'HBONE' }, { name: 'http', port: 80, protocol: 'HTTP' }]);
  const s = gatewayStatus(gw, inputs(gw), T0);
  assert.deepEqual([cond(s, 'Accepted').status, cond(s, 'Accepted').reason], ['True', 'ListenersNotValid']);
  assert.deepEqual(s.listeners.map((l) => `${l.name}:${l.conditions[0]!.status}`), ['mesh:True', 'http:False']);
});

test('a_conflicting_object_makes_programmed_false_invalid_with_its_message_and_no_address', () => {
  const gw = gateway();
  const s = gatewayStatus(gw, inputs(gw, { conflicts: ['Service shop/waypoint exists and is not managed'], deployment: { status: { readyReplicas: 1 } }, service: SVC }), T0);
  assert.deepEqual([cond(s, 'Programmed').status, cond(s, 'Programmed').reason], ['False', 'Invalid']);
  assert.match(cond(s, 'Programmed').message, /not managed/);
  assert.deepEqual(s.addresses, []);
});

test('last_transition_time_is_kept_while_a_condition_status_is_unchanged', () => {
  const gw = gateway();
  const first = gatewayStatus(gw, inputs(gw, { deployment: { status: {} }, service: SVC }), T0);
  const written = { ...gw, status: JSON.parse(JSON.stringify(first)) } as Gateway;
  assert.equal(statusDiffers(written, first), false);
  const again = gatewayStatus(written, inputs(written, { deployment: { status: {} }, service: SVC }), T1);
  assert.equal(statusDiffers(written, again), false, 'nothing to write later');
  const ready = gatewayStatus(written, inputs(written, { deployment: { status: { readyReplicas: 1 } }, service: SVC }), T1);
  assert.equal(cond(ready, 'Accepted').lastTransitionTime, '2026-01-01T00:00:00Z');
  assert.equal(cond(ready, 'Programmed').lastTransitionTime, '2026-01-01T00:05:00Z');
  assert.equal(ready.listeners[0]!.conditions[0]!.lastTransitionTime, '2026-01-01T00:00:00Z');
  assert.equal(statusDiffers(written, ready), true);
});

test('a_failed_write_is_said_in_programmed_until_it_succeeds', () => {
  const gw = gateway();
  const s = gatewayStatus(gw, inputs(gw, { missing: ['Deployment'], error: 'create Deployment shop/waypoint: 422 spec.template.spec.containers[0].image: Required value' }), T0);
  assert.match(cond(s, 'Programmed').message, /creating the waypoint's Deployment; last attempt failed: create Deployment shop\/waypoint: 422/);
  const ok = gatewayStatus(gw, inputs(gw, { deployment: { status: { readyReplicas: 1 } }, service: SVC, error: 'old' }), T0);
  assert.doesNotMatch(cond(ok, 'Programmed').message, /old/);
});
