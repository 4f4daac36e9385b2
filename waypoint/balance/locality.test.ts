import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointSet } from './endpoint-set.js';
import { BALANCE_LIMITS } from './limits.js';
import { chooseCandidates, inPanic } from './locality.js';
import { inputs, keyOf } from './test-helpers.js';

// Endpoints 0,1 on node n1 (zone a); 2,3 on n2 (zone a); 4,5 on n3 (zone b).
function spread() {
  const s = new EndpointSet(BALANCE_LIMITS);
  s.update(inputs(6, (i) => ({ node: `n${(i >> 1) + 1}`, zone: i < 4 ? 'a' : 'b' })), 0);
  return s;
}
const here = { local: { node: 'n1', zone: 'a' }, localityPreference: true, minHealthPercent: 0 };
const keysOf = (c: { endpoints: Array<{ key: string }> }) => c.endpoints.map((e) => e.key);

test('locality_prefers_endpoints_on_the_same_node', () => {
  const c = chooseCandidates(spread().list, here);
  assert.equal(c.tier, 'node');
  assert.deepEqual(keysOf(c), [keyOf(0), keyOf(1)]);
});

test('locality_keeps_the_node_tier_while_one_endpoint_there_is_healthy', () => {
  const s = spread();
  s.setEjected(keyOf(0), true, 1);
  const c = chooseCandidates(s.list, here);
  assert.equal(c.tier, 'node');
  assert.deepEqual(keysOf(c), [keyOf(1)]);
});

test('locality_fails_over_from_node_to_zone_to_any', () => {
  const s = spread();
  s.setEjected(keyOf(0), true, 1);
  s.setEjected(keyOf(1), true, 1);
  let c = chooseCandidates(s.list, here);
  assert.equal(c.tier, 'zone');
  assert.deepEqual(keysOf(c), [keyOf(2), keyOf(3)]);
  s.setEjected(keyOf(2), true, 1);
  s.setEjected(keyOf(3), true, 1);
  c = chooseCandidates(s.list, here);
  assert.equal(c.tier, 'any');
  assert.deepEqual(keysOf(c), [keyOf(4), keyOf(5)]);
  s.setEjected(keyOf(1), false, 2);
  assert.equal(chooseCandidates(s.list, here).tier, 'node', 'back to the node once an endpoint there heals');
});

test('locality_off_or_unknown_locality_uses_every_healthy_endpoint', () => {
  assert.equal(chooseCandidates(spread().list, { ...here, localityPreference: false }).endpoints.length, 6);
  const c = chooseCandidates(spread().list, { ...here, local: {} });
  assert.equal(c.tier, 'any');
  assert.equal(c.endpoints.length, 6);
  assert.equal(chooseCandidates(spread().list, { ...here, local: { node: 'elsewhere', zone: 'b' } }).tier, 'zone');
});

test('endpoints_without_a_zone_never_match_a_zone', () => {
  const s = new EndpointSet(BALANCE_LIMITS);
  s.update(inputs(2), 0);
  assert.equal(chooseCandidates(s.list, here).tier, 'any');
});

test('an_empty_set_has_no_candidates', () => assert.deepEqual(chooseCandidates([], here), { tier: 'empty', endpoints: [] }));

test('all_ejected_without_panic_mode_has_no_candidates', () => {
  const s = spread();
  for (let i = 0; i < 6; i++) s.setEjected(keyOf(i), true, 1);
  assert.deepEqual(chooseCandidates(s.list, here), { tier: 'no_healthy', endpoints: [] });
});

test('panic_mode_below_min_health_percent_uses_every_endpoint_ignoring_locality', () => {
  const s = spread();
  for (const i of [0, 1, 2, 3]) s.setEjected(keyOf(i), true, 1); // 2 of 6 healthy: 33 %
  const c = chooseCandidates(s.list, { ...here, minHealthPercent: 50 });
  assert.equal(c.tier, 'panic');
  assert.equal(c.endpoints.length, 6);
  assert.equal(chooseCandidates(s.list, { ...here, minHealthPercent: 30 }).tier, 'any', '33 % is not below 30 %');
});

test('panic_mode_with_everything_ejected_still_routes', () => {
  const s = spread();
  for (let i = 0; i < 6; i++) s.setEjected(keyOf(i), true, 1);
  assert.equal(chooseCandidates(s.list, { ...here, minHealthPercent: 1 }).tier, 'panic');
});

test('panic_threshold_is_strictly_below', () => {
  assert.equal(inPanic(5, 10, 50), false);
  assert.equal(inPanic(4, 10, 50), true);
  assert.equal(inPanic(0, 10, 0), false, '0 disables panic mode');
  assert.equal(inPanic(0, 0, 50), false);
});
