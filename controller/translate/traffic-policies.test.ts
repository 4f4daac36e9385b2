// TrafficPolicy translation: resources for waypoints, sectionName to port numbers, the
// older policy winning a Service port, and each object's Accepted/Conflicted status.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TrafficPolicy } from '../../core/config/traffic-policy.js';
import { cluster, namespace, problemsOf, service, TD } from './fixtures.js';
import type { TrafficPolicyObject } from './input.js';
import { translate } from './translate.js';

const ECHO = 'shop/echo.shop.svc.cluster.local';

function tp(name: string, spec: Record<string, unknown>, o: { created?: string; generation?: number } = {}): TrafficPolicyObject {
  return { apiVersion: 'ambient.dev/v1', kind: 'TrafficPolicy', metadata: { name, namespace: 'shop', creationTimestamp: (o.created ?? '2026-01-01T00:00:00Z') as unknown as Date, generation: o.generation ?? 1 }, spec };
}
const target = (name = 'echo', sectionName?: string) => ({ group: '', kind: 'Service', name, ...(sectionName ? { sectionName } : {}) });

function run(policies: TrafficPolicyObject[], services = [service('echo', { ns: 'shop', ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'grpc', port: 9090, targetPort: 9090 }] })]) {
  const r = translate({ ...cluster({ namespaces: [namespace('shop')], services }), trafficPolicies: policies }, { trustDomain: TD });
  const emitted = r.resources.filter((x) => x.kind === 'TrafficPolicy').map((x) => x.body as TrafficPolicy);
  const status = (name: string) => r.trafficPolicyStatuses.find((s) => s.name === name);
  const cond = (name: string, type: string) => status(name)?.conditions.find((c) => c.type === type);
  return { r, emitted, status, cond };
}

test('traffic_policy_on_a_service_becomes_a_resource_with_the_service_key', () => {
  const { emitted, cond } = run([tp('echo', { targetRefs: [target()], retries: { attempts: 3 } })]);
  assert.equal(emitted.length, 1);
  assert.deepEqual(emitted[0]!.targets, [{ service: ECHO }]);
  assert.equal(emitted[0]!.retries?.attempts, 3);
  assert.deepEqual(cond('echo', 'Accepted'), { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'applied to Service shop/echo' });
  assert.equal(cond('echo', 'Conflicted')?.status, 'False');
});

test('traffic_policy_section_name_resolves_to_the_port_number', () => {
  const { emitted, cond } = run([tp('echo', { targetRefs: [target('echo', 'grpc')] })]);
  assert.deepEqual(emitted[0]!.targets, [{ service: ECHO, port: 9090 }]);
  assert.equal(cond('echo', 'Accepted')?.message, 'applied to Service shop/echo port 9090');
});

test('traffic_policy_section_name_matching_no_port_is_invalid_alone', () => {
  const { r, emitted, cond } = run([tp('bad', { targetRefs: [target('echo', 'admin')] }), tp('good', { targetRefs: [target('echo', 'http')] })]);
  assert.deepEqual(emitted.map((p) => p.name), ['good']);
  const c = cond('bad', 'Accepted')!;
  assert.equal(c.status, 'False');
  assert.equal(c.reason, 'Invalid');
  assert.equal(c.message, 'spec.targetRefs[0].sectionName: "admin" is not a port name of Service shop/echo (its ports: http, grpc)');
  assert.match(problemsOf(r, 'TrafficPolicy', 'shop/bad')[0]!.message, /^AMB_TRAFFIC_POLICY_INVALID: not applied: spec\.targetRefs\[0\]\.sectionName/);
});

test('malformed_traffic_policy_is_rejected_alone_with_the_field_in_its_status', () => {
  const { emitted, cond, status } = run([tp('bad', { targetRefs: [target()], outlierDetection: { interval: '10x' } }), tp('good', { targetRefs: [target('echo', 'grpc')] })]);
  assert.deepEqual(emitted.map((p) => p.name), ['good']);
  assert.deepEqual(cond('bad', 'Accepted'), { type: 'Accepted', status: 'False', reason: 'Invalid', message: 'spec.outlierDetection.interval: "10x" is not a duration such as "250ms" or "30s"' });
  assert.equal(status('bad')?.generation, 1);
});

test('traffic_policy_on_a_missing_service_is_target_not_found', () => {
  const { emitted, cond } = run([tp('echo', { targetRefs: [target('gone')] })]);
  assert.equal(emitted.length, 0);
  assert.equal(cond('echo', 'Accepted')?.reason, 'TargetNotFound');
  assert.match(cond('echo', 'Accepted')!.message, /spec\.targetRefs\[0\]: Service shop\/gone does not exist/);
});

test('traffic_policy_with_one_missing_target_applies_to_the_others', () => {
  const { emitted, cond } = run([tp('echo', { targetRefs: [target('gone'), target()] })]);
  assert.deepEqual(emitted[0]!.targets, [{ service: ECHO }]);
  assert.equal(cond('echo', 'Accepted')?.status, 'True');
  assert.match(cond('echo', 'Accepted')!.message, /Service shop\/gone does not exist/);
});

test('two_policies_on_the_same_service_port_the_older_wins_the_other_is_conflicted', () => {
  const { emitted, cond } = run([tp('newer', { targetRefs: [target()] }, { created: '2026-02-01T00:00:00Z' }), tp('older', { targetRefs: [target()] }, { created: '2026-01-01T00:00:00Z' })]);
  assert.deepEqual(emitted.map((p) => p.name), ['older']);
  assert.equal(cond('older', 'Conflicted')?.status, 'False');
  assert.deepEqual(cond('newer', 'Conflicted'), { type: 'Conflicted', status: 'True', reason: 'Conflicted', message: 'spec.targetRefs[0]: Service shop/echo is already the target of the older TrafficPolicy shop/older, which applies there' });
  assert.equal(cond('newer', 'Accepted')?.status, 'False');
  assert.equal(cond('newer', 'Accepted')?.reason, 'Conflicted');
});

test('same_age_conflict_is_decided_by_name', () => {
  const { emitted, cond } = run([tp('b', { targetRefs: [target()] }), tp('a', { targetRefs: [target()] })]);
  assert.deepEqual(emitted.map((p) => p.name), ['a']);
  assert.equal(cond('b', 'Conflicted')?.status, 'True');
});

test('a_conflicted_policy_keeps_its_other_targets', () => {
  const { emitted, cond } = run([tp('older', { targetRefs: [target('echo', 'http')] }), tp('newer', { targetRefs: [target('echo', 'http'), target('echo', 'grpc')] }, { created: '2026-03-01T00:00:00Z' })]);
  const newer = emitted.find((p) => p.name === 'newer')!;
  assert.deepEqual(newer.targets, [{ service: ECHO, port: 9090 }]);
  assert.equal(cond('newer', 'Accepted')?.status, 'True');
  assert.match(cond('newer', 'Conflicted')!.message, /^spec\.targetRefs\[0\]: Service shop\/echo port 80 is already the target of the older TrafficPolicy shop\/older/);
});

test('a_port_policy_and_a_whole_service_policy_do_not_conflict', () => {
  const { emitted } = run([tp('whole', { targetRefs: [target()] }), tp('port', { targetRefs: [target('echo', 'grpc')] }, { created: '2026-05-01T00:00:00Z' })]);
  assert.deepEqual(emitted.map((p) => p.name).sort(), ['port', 'whole']);
});

test('an_invalid_older_policy_does_not_hold_the_port', () => {
  const { emitted } = run([tp('older', { targetRefs: [target()], retries: { attempts: 99 } }), tp('newer', { targetRefs: [target()] }, { created: '2026-05-01T00:00:00Z' })]);
  assert.deepEqual(emitted.map((p) => p.name), ['newer']);
});

test('traffic_policy_warnings_are_problems_and_the_policy_still_applies', () => {
  const { r, emitted } = run([tp('echo', { targetRefs: [target()], outlierDetection: { consecutive5xxErrors: 0 } })]);
  assert.equal(emitted.length, 1);
  assert.match(problemsOf(r, 'TrafficPolicy', 'shop/echo').map((p) => p.message).join('\n'), /ejects nothing/);
});
