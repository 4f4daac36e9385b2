import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TrafficPolicy } from '../../core/config/traffic-policy.js';
import type { UpstreamEndpoint } from '../http/chain.js';
import { OutlierRegistry } from '../resilience/outlier-layer.js';
import { EndpointPicker, NO_POLICY_BALANCER, PICKER_LIMITS } from './picker.js';
import { seededRandom } from './random.js';

const ep = (n: number): UpstreamEndpoint => ({ ip: `10.0.0.${n}`, port: 8080, mesh: true, identity: `id${n}`, workloadUid: `w${n}` });
const EPS = [ep(1), ep(2), ep(3)];
const SVC = 'shop/echo.shop.svc.cluster.local';

function tp(extra: Partial<TrafficPolicy>): TrafficPolicy {
  return { key: 'shop/echo', name: 'echo', namespace: 'shop', created: '2026-01-01T00:00:00Z', targets: [{ service: SVC }], loadBalancer: { ...NO_POLICY_BALANCER }, ...extra };
}

const ips = (p: EndpointPicker, n: number, req = {}): string[] =>
  Array.from({ length: n }, () => {
    const r = p.pick(SVC, 80, req);
    return r.endpoint ? r.endpoint.ip : 'none';
  });

test('without_a_policy_picks_go_round_robin_over_the_list', () => {
  const p = new EndpointPicker({ endpoints: () => EPS, random: seededRandom(1) });
  const got = ips(p, 6);
  assert.equal(new Set(got.slice(0, 3)).size, 3);
  assert.deepEqual(got.slice(3), got.slice(0, 3));
});

test('an_empty_port_gives_no_endpoint_with_reason_empty', () => {
  const p = new EndpointPicker({ endpoints: () => [] });
  assert.deepEqual(p.pick(SVC, 80), { endpoint: undefined, reason: 'empty' });
});

test('the_same_endpoint_list_is_converted_once', () => {
  let calls = 0;
  const p = new EndpointPicker({ endpoints: () => EPS, locate: () => (calls++, { node: 'n1' }) });
  ips(p, 5);
  assert.equal(calls, EPS.length);
});

test('a_retry_prefers_an_endpoint_not_tried_before', () => {
  // Round robin: within PICKER_LIMITS.retryRepicks picks the cursor reaches the untried one.
  const p = new EndpointPicker({ endpoints: () => EPS, random: seededRandom(7) });
  for (let i = 0; i < 50; i++) {
    const r = p.pick(SVC, 80, { avoid: ['10.0.0.1:8080', '10.0.0.2:8080'] });
    assert.equal(r.endpoint?.ip, '10.0.0.3', `pick ${i}`);
  }
  assert.ok(PICKER_LIMITS.retryRepicks >= 1);
});

test('a_retry_takes_a_tried_endpoint_when_it_is_the_only_one', () => {
  const p = new EndpointPicker({ endpoints: () => [ep(1)] });
  assert.equal(p.pick(SVC, 80, { avoid: ['10.0.0.1:8080'] }).endpoint?.ip, '10.0.0.1');
});

test('header_hashing_keeps_a_key_on_one_endpoint', () => {
  const policy = tp({ loadBalancer: { ...NO_POLICY_BALANCER, algorithm: 'MAGLEV', consistentHash: { type: 'header', name: 'x-user' } } });
  const p = new EndpointPicker({ endpoints: () => EPS, policyFor: () => policy, random: seededRandom(3) });
  for (const user of ['a', 'b', 'c', 'd']) assert.equal(new Set(ips(p, 10, { headers: { 'x-user': user } })).size, 1, user);
});

test('a_missing_hash_cookie_is_generated_and_returned_as_set_cookie', () => {
  const policy = tp({ loadBalancer: { ...NO_POLICY_BALANCER, algorithm: 'RING_HASH', consistentHash: { type: 'cookie', name: 's', ttlMs: 1500, path: '/' } } });
  const p = new EndpointPicker({ endpoints: () => EPS, policyFor: () => policy, random: seededRandom(3) });
  const first = p.pick(SVC, 80, { headers: {} });
  assert.ok(first.endpoint && first.setCookie);
  assert.match(first.setCookie, /^s=[0-9a-f]+; Path=\/; Max-Age=2; HttpOnly$/);
  const again = p.pick(SVC, 80, { headers: { cookie: first.setCookie.split(';')[0]! } });
  assert.ok(again.endpoint && again.setCookie === undefined);
  assert.equal(again.endpoint.ip, first.endpoint.ip);
});

test('ejected_endpoints_are_not_picked_and_all_ejected_is_no_healthy', () => {
  let now = 0;
  const policy = tp({ outlierDetection: { consecutive5xxErrors: 1, consecutiveGatewayErrors: 0, intervalMs: 10_000, baseEjectionMs: 1_000, maxEjectionMs: 1_000, maxEjectionPercent: 100, minHealthPercent: 0 } });
  const outliers = new OutlierRegistry({ policyFor: () => policy, now: () => now });
  const p = new EndpointPicker({ endpoints: () => EPS, policyFor: () => policy, outliers, now: () => now });
  p.pick(SVC, 80); // the registry learns the endpoints
  outliers.record(SVC, 80, '10.0.0.1:8080', { kind: 'response', status: 500 });
  assert.ok(!ips(p, 9).includes('10.0.0.1'));
  outliers.record(SVC, 80, '10.0.0.2:8080', { kind: 'response', status: 500 });
  outliers.record(SVC, 80, '10.0.0.3:8080', { kind: 'response', status: 500 });
  assert.deepEqual(p.pick(SVC, 80), { endpoint: undefined, reason: 'no_healthy' });
  now = 1_500;
  outliers.tick();
  assert.ok(p.pick(SVC, 80).endpoint, 'back after the ejection');
  outliers.close();
});

test('panic_below_min_health_percent_uses_ejected_endpoints', () => {
  const policy = tp({ outlierDetection: { consecutive5xxErrors: 1, consecutiveGatewayErrors: 0, intervalMs: 10_000, baseEjectionMs: 60_000, maxEjectionMs: 60_000, maxEjectionPercent: 100, minHealthPercent: 50 } });
  const outliers = new OutlierRegistry({ policyFor: () => policy, now: () => 0 });
  const p = new EndpointPicker({ endpoints: () => EPS, policyFor: () => policy, outliers, now: () => 0 });
  p.pick(SVC, 80);
  for (const n of [1, 2]) outliers.record(SVC, 80, `10.0.0.${n}:8080`, { kind: 'response', status: 500 });
  // 1 of 3 healthy (33% < 50%): panic, every endpoint is a candidate again.
  assert.equal(new Set(ips(p, 12)).size, 3);
  outliers.close();
});

const OD = { consecutive5xxErrors: 1, consecutiveGatewayErrors: 0, intervalMs: 10_000, baseEjectionMs: 1_000, maxEjectionMs: 1_000, maxEjectionPercent: 100, minHealthPercent: 0 };

test('an_endpoint_that_returned_while_no_request_was_balanced_still_warms_up', () => {
  let now = 0;
  const policy = tp({ loadBalancer: { ...NO_POLICY_BALANCER, warmupMs: 10_000 }, outlierDetection: OD });
  const outliers = new OutlierRegistry({ policyFor: () => policy, now: () => now });
  const p = new EndpointPicker({ endpoints: () => EPS, policyFor: () => policy, outliers, now: () => now });
  now = 20_000;
  p.pick(SVC, 80); // the registry and the balancer learn the endpoints; all past any warm-up
  outliers.record(SVC, 80, '10.0.0.1:8080', { kind: 'response', status: 500 });
  now = 21_500; // the ejection ends with no pick during it
  outliers.tick();
  p.pick(SVC, 80);
  const view = p.cache.get(SVC, 80, policy.loadBalancer).view();
  const returned = view.find((v) => v.key === '10.0.0.1:8080')!;
  assert.equal(returned.ejected, false);
  assert.equal(returned.warming, true, 'a returning endpoint ramps up even when the balancer never saw it ejected');
  assert.ok(view.filter((v) => v.key !== '10.0.0.1:8080').every((v) => !v.warming));
  outliers.close();
});

test('endpoints_ejected_when_a_policy_drops_outlier_detection_come_back_at_once', () => {
  let policy = tp({ outlierDetection: OD });
  const outliers = new OutlierRegistry({ policyFor: () => policy, now: () => 0 });
  const p = new EndpointPicker({ endpoints: () => EPS, policyFor: () => policy, outliers, now: () => 0 });
  p.pick(SVC, 80);
  outliers.record(SVC, 80, '10.0.0.1:8080', { kind: 'response', status: 500 });
  assert.ok(!ips(p, 6).includes('10.0.0.1'), 'ejected while the policy ejects');
  policy = tp({});
  assert.ok(ips(p, 6).includes('10.0.0.1'), 'no ejection outlives the outlierDetection that made it');
  outliers.close();
});
