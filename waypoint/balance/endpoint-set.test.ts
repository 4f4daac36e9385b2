import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointSet, clampWeight, endpointKey } from './endpoint-set.js';
import { BALANCE_LIMITS } from './limits.js';
import { input, inputs, keyOf, upstream } from './test-helpers.js';

const set = () => new EndpointSet(BALANCE_LIMITS);

test('endpoint_key_is_ip_port_with_brackets_for_ipv6', () => {
  assert.equal(endpointKey(upstream('10.0.0.1', 80)), '10.0.0.1:80');
  assert.equal(endpointKey(upstream('fd00::1', 80)), '[fd00::1]:80');
});

test('update_keeps_the_state_of_endpoints_still_present', () => {
  const s = set();
  s.update(inputs(3), 0);
  s.get(keyOf(1))!.active = 4;
  s.update([input(1), input(2), input(3)], 10); // 0 removed, 3 added
  assert.equal(s.get(keyOf(1))!.active, 4);
  assert.equal(s.get(keyOf(0)), undefined);
  assert.equal(s.get(keyOf(3))!.active, 0);
  assert.deepEqual(s.list.map((e) => e.key), [keyOf(1), keyOf(2), keyOf(3)]);
});

test('endpoints_of_the_first_update_are_warm_and_later_ones_start_warming', () => {
  const s = set();
  s.update(inputs(2), 0);
  assert.equal(s.get(keyOf(0))!.since, undefined);
  s.update(inputs(3), 500);
  assert.equal(s.get(keyOf(0))!.since, undefined);
  assert.equal(s.get(keyOf(2))!.since, 500);
});

test('an_endpoint_whose_ejection_ends_starts_warming', () => {
  const s = set();
  s.update(inputs(2), 0);
  assert.equal(s.setEjected(keyOf(0), true, 100), true);
  assert.equal(s.get(keyOf(0))!.since, undefined);
  assert.equal(s.setEjected(keyOf(0), false, 200), true);
  assert.equal(s.get(keyOf(0))!.since, 200);
  assert.equal(s.setEjected(keyOf(0), false, 300), false, 'no change, no new warmup');
  assert.equal(s.get(keyOf(0))!.since, 200);
  assert.equal(s.setEjected('10.9.9.9:1', true, 300), false, 'unknown key ignored');
});

test('ejection_given_in_the_list_returns_through_warmup_too', () => {
  const s = set();
  s.update(inputs(2, (i) => ({ ejected: i === 0 })), 0);
  assert.equal(s.get(keyOf(0))!.ejected, true);
  s.update(inputs(2, () => ({ ejected: false })), 70);
  assert.equal(s.get(keyOf(0))!.since, 70);
});

test('a_list_without_ejected_does_not_undo_an_ejection', () => {
  const s = set();
  s.update(inputs(2), 0);
  s.setEjected(keyOf(0), true, 1);
  s.update(inputs(2), 2);
  assert.equal(s.get(keyOf(0))!.ejected, true);
});

test('version_changes_only_when_the_choice_depends_on_it', () => {
  const s = set();
  s.update(inputs(3), 0);
  const v = s.version;
  assert.equal(s.update(inputs(3), 1), false, 'same endpoints again');
  assert.equal(s.version, v);
  const same = inputs(3);
  s.update(same, 1);
  assert.equal(s.update(same, 2), false, 'the same array is a no-op');
  assert.equal(s.update(inputs(3, (i) => ({ weight: i + 1 })), 3), true, 'weights changed');
  assert.equal(s.update(inputs(3, (i) => ({ weight: i + 1, zone: 'a' })), 4), true, 'zone changed');
  assert.equal(s.update([input(2), input(1), input(0)].map((e, i) => ({ ...e, weight: 3 - i, zone: 'a' })), 5), true, 'order changed');
  const v2 = s.version;
  s.setEjected(keyOf(0), true, 6);
  assert.ok(s.version > v2);
});

test('duplicate_endpoints_keep_the_first_and_weights_are_clamped', () => {
  const s = set();
  s.update([input(0, { weight: 3 }), input(0, { weight: 9 }), input(1, { weight: 1000 }), input(2, { weight: 0 }), input(3, { weight: Number.NaN })], 0);
  assert.deepEqual(s.list.map((e) => e.weight), [3, 128, 1, 1]);
  assert.equal(clampWeight(2.6, 128), 3);
});

test('endpoints_beyond_the_limit_are_left_out_in_list_order', () => {
  const s = new EndpointSet({ ...BALANCE_LIMITS, maxEndpointsPerSet: 2 });
  s.update(inputs(5), 0);
  assert.deepEqual(s.list.map((e) => e.key), [keyOf(0), keyOf(1)]);
});
